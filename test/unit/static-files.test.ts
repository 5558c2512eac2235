import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadStaticSite, type StaticSiteSources } from '../../src/transport/static-files.js';

describe('loadStaticSite', () => {
  let root: string;
  let sources: StaticSiteSources;
  const write = (path: string, content: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'charla-site-'));
    sources = { webRoot: join(root, 'web'), libraryBundle: join(root, 'dist/web/charla-client.js') };
    write('web/index.html', '<!doctype html>');
    write('web/js/app.js', "import { ChatClient } from '/lib/charla-client.js';");
    write('web/.editorconfig', 'root = true');
    write('web/notes.md', '# not served');
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the web files, the library bundle and its source map, and nothing else', () => {
    write('dist/web/charla-client.js', 'export class ChatClient {}\n//# sourceMappingURL=charla-client.js.map');
    write('dist/web/charla-client.js.map', '{"version":3}');
    write('dist/web/other.js', 'export {}');
    const site = loadStaticSite(sources);
    expect(site.problems).toEqual([]);
    expect(site.paths).toEqual(['/index.html', '/js/app.js', '/lib/charla-client.js', '/lib/charla-client.js.map']);
    expect(site.lookup('/')?.contentType).toBe('text/html; charset=utf-8');
    expect(site.lookup('/lib/charla-client.js')?.contentType).toBe('text/javascript; charset=utf-8');
    expect(site.lookup('/lib/other.js')).toBeUndefined();
    expect(site.lookup('/js/../index.html')).toBeUndefined();
  });

  it('gives every file a strong ETag that changes with its content', () => {
    write('web/a.css', 'a {}');
    write('web/b.css', 'b {}');
    const site = loadStaticSite(sources);
    expect(site.lookup('/a.css')?.etag).toMatch(/^"[\w-]{27}"$/);
    expect(site.lookup('/a.css')?.etag).not.toBe(site.lookup('/b.css')?.etag);
  });

  it('leaves the library out, saying why, when it is not built', () => {
    const site = loadStaticSite(sources);
    expect(site.problems).toEqual([expect.stringContaining('is missing: build the web client library with npm run build')]);
    expect(site.paths).toEqual(['/index.html', '/js/app.js']);
  });
});
