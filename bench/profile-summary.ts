import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * `npm run bench:profile -- FILE.cpuprofile [--top N]`: where a node spent
 * its CPU, from a V8 profile written with `npm run bench -- --cpu-prof`.
 * Self time per function and per source (our files, each package, Node's
 * internals, GC), idle time left out of the shares.
 */
interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const NOT_WORK = new Set(['(idle)', '(root)']);

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  if (positionals.length === 0) throw new Error('usage: npm run bench:profile -- FILE.cpuprofile [more files] [--top N]');
  for (const file of positionals) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    process.stdout.write(`${summarise(file, profile, Number(values.top))}\n`);
  }
}

function summarise(file: string, profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfByFunction = new Map<string, number>();
  const selfBySource = new Map<string, number>();
  let busyMicros = 0;
  let idleMicros = 0;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const micros = profile.timeDeltas[index] ?? 0;
    if (!node || NOT_WORK.has(node.callFrame.functionName)) {
      idleMicros += micros;
      return;
    }
    busyMicros += micros;
    const source = sourceOf(node.callFrame.url, node.callFrame.functionName);
    const name = `${node.callFrame.functionName || '(anonymous)'}  ${source}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`;
    selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + micros);
    selfBySource.set(source, (selfBySource.get(source) ?? 0) + micros);
  });
  const rows = (entries: Map<string, number>, limit: number): string =>
    [...entries.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, micros]) => `  ${(micros / 1000).toFixed(1).padStart(9)} ms ${((100 * micros) / busyMicros).toFixed(1).padStart(5)} %  ${name}`)
      .join('\n');
  return [
    `${file}: ${(busyMicros / 1000).toFixed(0)} ms busy, ${(idleMicros / 1000).toFixed(0)} ms idle`,
    'self time by source:',
    rows(selfBySource, 12),
    `self time by function (top ${top}):`,
    rows(selfByFunction, top),
  ].join('\n');
}

/** Our own files by path, packages by name, and V8's pseudo-frames ((garbage collector), (program)) as they are. */
function sourceOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (inPackage) return inPackage[1]!;
  return relative(PROJECT_ROOT, path);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
