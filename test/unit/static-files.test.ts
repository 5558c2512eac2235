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
    sources = { webRoot: join(root, 'web'), libraryRoot: join(root, 'dist'), libraryEntry: 'client/index.js' };
    write('web/index.html', '<!doctype html>');
    write('web/js/app.js', "import { ChatClient } from '/lib/client/index.js';");
    write('web/.editorconfig', 'root = true');
    write('web/notes.md', '# not served');
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the web files and the library modules the entry imports, and nothing else', () => {
    write('dist/client/index.js', "export { ChatClient } from './chat-client.js';\nexport { USER_STATUSES } from '../protocol/status.js';");
    write('dist/client/chat-client.js', "import { CLOSE_CODES } from '../chat/close-codes.js';\nexport class ChatClient {}");
    write('dist/chat/close-codes.js', 'export const CLOSE_CODES = {};');
    write('dist/protocol/status.js', 'export const USER_STATUSES = [];');
    write('dist/protocol/decode.js', "import { z } from 'zod';");
    const site = loadStaticSite(sources);
    expect(site.problems).toEqual([]);
    expect(site.paths).toEqual([
      '/index.html',
      '/js/app.js',
      '/lib/chat/close-codes.js',
      '/lib/client/chat-client.js',
      '/lib/client/index.js',
      '/lib/protocol/status.js',
    ]);
    expect(site.lookup('/')?.contentType).toBe('text/html; charset=utf-8');
    expect(site.lookup('/lib/client/index.js')?.contentType).toBe('text/javascript; charset=utf-8');
    expect(site.lookup('/lib/protocol/decode.js')).toBeUndefined();
    expect(site.lookup('/js/../index.html')).toBeUndefined();
  });

  it('gives every file a strong ETag that changes with its content', () => {
    write('web/a.css', 'a {}');
    write('web/b.css', 'b {}');
    const site = loadStaticSite(sources);
    expect(site.lookup('/a.css')?.etag).toMatch(/^"[\w-]{27}"$/);
    expect(site.lookup('/a.css')?.etag).not.toBe(site.lookup('/b.css')?.etag);
  });

  it('leaves the library out, saying why, when it is not built or a browser could not load it', () => {
    expect(loadStaticSite(sources).problems).toEqual([expect.stringContaining('is missing: build the web client library')]);
    write('dist/client/index.js', "import WebSocket from 'ws';");
    const site = loadStaticSite(sources);
    expect(site.problems).toEqual(["client/index.js imports 'ws', which a browser cannot load"]);
    expect(site.paths).toEqual(['/index.html', '/js/app.js']);
  });
});
