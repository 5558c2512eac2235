import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const PROJECT_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export function repoPath(relative: string): string {
  return join(PROJECT_ROOT, relative);
}

export function readRepoFile(relative: string): string {
  return readFileSync(repoPath(relative), 'utf8');
}

/** A YAML file of the repository as plain data. */
export function readYamlFile(relative: string): unknown {
  return parse(readRepoFile(relative));
}

/** Every document of a multi-document YAML stream, as plain data. */
export function parseYamlStream(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as Record<string, unknown>;
  });
}
