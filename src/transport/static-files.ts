import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpRequest, HttpResponse } from './uws.js';

/**
 * The web client, served by every node: the files under `web/` at `/`, and
 * the client library, bundled for browsers by `npm run build`, at
 * `/lib/charla-client.js`. Everything is read into memory when the node starts
 * and looked up by exact path, so no request ever reaches the file system:
 * `..`, encoded or not, finds nothing.
 */
export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

export interface StaticSiteSources {
  /** Served at `/`. */
  readonly webRoot: string;
  /** The client library bundle (and its source map beside it), served under `/lib/`. */
  readonly libraryBundle: string;
}

export const LIBRARY_PATH = '/lib/charla-client.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** The page may load its own scripts and styles and open WebSockets to its own node, and nothing else. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export class StaticSite {
  constructor(
    private readonly files: ReadonlyMap<string, StaticFile>,
    /** Why some files could not be served (a missing build, most often). */
    readonly problems: readonly string[] = [],
  ) {}

  get paths(): string[] {
    return [...this.files.keys()].sort();
  }

  lookup(path: string): StaticFile | undefined {
    return this.files.get(path === '/' ? '/index.html' : path);
  }
}

/** Where the files are in this checkout or installation, found from this module's own location. */
export function defaultSources(): StaticSiteSources {
  const root = packageRoot(dirname(fileURLToPath(import.meta.url)));
  return { webRoot: join(root, 'web'), libraryBundle: join(root, 'dist', 'web', 'charla-client.js') };
}

export function loadStaticSite(sources: StaticSiteSources = defaultSources()): StaticSite {
  const files = new Map<string, StaticFile>();
  const problems: string[] = [];
  const add = (urlPath: string, path: string): void => {
    const contentType = CONTENT_TYPES[extname(path).toLowerCase()];
    if (!contentType) return;
    const body = readFileSync(path);
    files.set(urlPath, { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
  };
  if (existsSync(sources.webRoot)) {
    for (const path of listFiles(sources.webRoot)) add(`/${toUrlPath(relative(sources.webRoot, path))}`, path);
  } else {
    problems.push(`no web client at ${sources.webRoot}`);
  }
  if (existsSync(sources.libraryBundle)) {
    add(LIBRARY_PATH, sources.libraryBundle);
    const sourceMap = `${sources.libraryBundle}.map`;
    if (existsSync(sourceMap)) add(`${LIBRARY_PATH}.map`, sourceMap);
  } else {
    problems.push(`${sources.libraryBundle} is missing: build the web client library with npm run build`);
  }
  return new StaticSite(files, problems);
}

/**
 * Answers a GET or HEAD for a file of the site; false when there is no such
 * file, for the caller to answer otherwise.
 */
export function serveStaticFile(res: HttpResponse, req: HttpRequest, site: StaticSite): boolean {
  const method = req.getMethod();
  if (method !== 'get' && method !== 'head') return false;
  const file = site.lookup(req.getUrl());
  if (!file) return false;
  const notModified = matchesEtag(req.getHeader('if-none-match'), file.etag);
  res.cork(() => {
    res.writeStatus(notModified ? '304 Not Modified' : '200 OK');
    res.writeHeader('content-type', file.contentType);
    res.writeHeader('etag', file.etag);
    // Names carry no content hash, so browsers revalidate every time (a 304 when unchanged).
    res.writeHeader('cache-control', 'no-cache');
    res.writeHeader('x-content-type-options', 'nosniff');
    res.writeHeader('referrer-policy', 'no-referrer');
    if (file.contentType.startsWith('text/html')) res.writeHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    if (notModified) {
      res.endWithoutBody();
    } else if (method === 'head') {
      // uWS would send the body with end(), and aborts on endWithoutBody(length): state the length by hand.
      res.writeHeader('content-length', String(file.body.length));
      res.endWithoutBody();
    } else {
      res.end(file.body);
    }
  });
  return true;
}

function matchesEtag(header: string, etag: string): boolean {
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

function listFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.'))
    .flatMap((entry) => {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) return listFiles(path);
      return entry.isFile() ? [path] : [];
    });
}

function toUrlPath(path: string): string {
  return path.split(sep).join('/');
}

/** The nearest directory at or above `start` holding a package.json: the checkout, or the installed package. */
function packageRoot(start: string): string {
  for (let directory = start; ; directory = dirname(directory)) {
    if (existsSync(join(directory, 'package.json'))) return directory;
    if (dirname(directory) === directory) return start;
  }
}
