import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/deploy/repo-files.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(join(PROJECT_ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(PROJECT_ROOT, join(entry.parentPath, entry.name)));
}

describe('the layering of docs/architecture.md', () => {
  it('holds for every import in src, bench and scripts (dependency-cruiser)', async () => {
    const depcruise = join(PROJECT_ROOT, 'node_modules/.bin/depcruise');
    const run = promisify(execFile)(depcruise, ['--config', '.dependency-cruiser.cjs', '--output-type', 'err', 'src', 'bench', 'scripts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    await expect(run.then((r) => r.stdout)).resolves.toMatch(/no dependency violations found/);
  }, 60_000);

  it('lets only config.ts read the environment (and the terminal client its NO_COLOR)', () => {
    const readers = sourceFiles('src').filter((file) => readFileSync(join(PROJECT_ROOT, file), 'utf8').includes('process.env'));
    expect(readers.sort()).toEqual(['src/cli/charla.ts', 'src/config.ts']);
  });
});
