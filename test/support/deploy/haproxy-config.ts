import { spawnSync } from 'node:child_process';

/** One section of an HAProxy config: `global`, `defaults`, `frontend NAME`, `backend NAME`, ... */
export interface HaproxySection {
  readonly kind: string;
  readonly name: string;
  /** Directives, comments and blank lines dropped, white space folded. */
  readonly lines: readonly string[];
}

const SECTION_KINDS = new Set(['global', 'defaults', 'frontend', 'backend', 'listen', 'resolvers', 'peers', 'userlist', 'program', 'http-errors', 'ring', 'cache', 'mailers']);

export function parseHaproxyConfig(text: string): HaproxySection[] {
  const sections: { kind: string; name: string; lines: string[] }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim().replace(/\s+/g, ' ');
    if (line === '') continue;
    const [word = '', name = ''] = line.split(' ');
    if (SECTION_KINDS.has(word) && !/^\s/.test(raw)) sections.push({ kind: word, name, lines: [] });
    else if (sections.length === 0) throw new Error(`directive outside any section: ${line}`);
    else sections.at(-1)!.lines.push(line);
  }
  return sections;
}

export function findSection(sections: readonly HaproxySection[], kind: string, name = ''): HaproxySection {
  const found = sections.find((s) => s.kind === kind && s.name === name);
  if (!found) throw new Error(`no '${kind} ${name}' section`);
  return found;
}

/** Directives of a section that start with `prefix` (e.g. "timeout tunnel"). */
export function directives(section: HaproxySection, prefix: string): string[] {
  return section.lines.filter((line) => line === prefix || line.startsWith(`${prefix} `));
}

/** The request a backend's health check sends, from `option httpchk` / `http-check send`. */
export function healthCheckRequest(backend: HaproxySection): { method: string; path: string; version: string; headers: Record<string, string> } {
  const [send] = directives(backend, 'http-check send');
  const [legacy] = directives(backend, 'option httpchk');
  const words = (send ?? '').split(' ').slice(2);
  const value = (key: string): string | undefined => {
    const index = words.indexOf(key);
    return index >= 0 ? words[index + 1] : undefined;
  };
  const headers: Record<string, string> = {};
  words.forEach((word, i) => {
    if (word === 'hdr') headers[words[i + 1]!] = words[i + 2]!;
  });
  // `option httpchk [METHOD] [URI] [VERSION]`: HAProxy's defaults are OPTIONS / HTTP/1.0.
  const [, , legacyMethod, legacyUri, legacyVersion] = (legacy ?? '').split(' ');
  return {
    method: value('meth') ?? legacyMethod ?? 'OPTIONS',
    path: value('uri') ?? legacyUri ?? '/',
    version: value('ver') ?? legacyVersion ?? 'HTTP/1.0',
    headers,
  };
}

/** `haproxy -c`: HAProxy's own verdict on a config file. */
export function haproxyCheck(configFile: string): { valid: boolean; output: string } {
  const result = spawnSync('haproxy', ['-c', '-f', configFile], { encoding: 'utf8' });
  return { valid: result.status === 0, output: `${result.stdout}${result.stderr}` };
}
