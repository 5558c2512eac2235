import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpRequest, HttpResponse } from './uws.js';

/**
 * The web client, served by every node: the files under `web/` at `/`, and
 * the compiled client library (`dist/src/client` and the modules it
 * imports) at `/lib/`. Everything is read into memory when the node starts
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
  /** Compiled modules; the library entry and its relative imports are served at `/lib/`. */
  readonly libraryRoot: string;
  readonly libraryEntry: string;
}

export const LIBRARY_PREFIX = '/lib/';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
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
  return { webRoot: join(root, 'web'), libraryRoot: join(root, 'dist', 'src'), libraryEntry: 'client/index.js' };
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
  const library = moduleClosure(sources.libraryRoot, sources.libraryEntry);
  if (library.ok) {
    for (const module of library.modules) add(`${LIBRARY_PREFIX}${module}`, join(sources.libraryRoot, module));
  } else {
    problems.push(library.problem);
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

type Closure = { readonly ok: true; readonly modules: readonly string[] } | { readonly ok: false; readonly problem: string };

// Static imports and re-exports as tsc writes them: `import … from './x.js'`, `export … from './x.js'`, `import './x.js'`.
const IMPORT_PATTERN = /\b(?:import|export)\b[^;'"]*?\bfrom\s*(['"])([^'"]+)\1|\bimport\s*(['"])([^'"]+)\3/g;

/**
 * The entry module and every module it imports, as paths relative to
 * `root`. A browser cannot load a bare specifier (a package or a Node
 * built-in), so one anywhere in the graph means the library is not served.
 */
function moduleClosure(root: string, entry: string): Closure {
  const found = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const module = pending.pop()!;
    if (found.has(module)) continue;
    const path = join(root, module);
    if (!existsSync(path)) return { ok: false, problem: `${path} is missing: build the web client library with npm run build` };
    found.add(module);
    for (const match of readFileSync(path, 'utf8').matchAll(IMPORT_PATTERN)) {
      const specifier = match[2] ?? match[4]!;
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) {
        return { ok: false, problem: `${module} imports '${specifier}', which a browser cannot load` };
      }
      const target = posix.normalize(posix.join(posix.dirname(module), specifier));
      if (target.startsWith('../')) return { ok: false, problem: `${module} imports '${specifier}', outside ${root}` };
      pending.push(target);
    }
  }
  return { ok: true, modules: [...found].sort() };
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
