import { parseArgs } from 'node:util';

export const DEFAULT_URL = 'ws://localhost:8080/chat';

export const USAGE = `Uso: charla chat --name <nombre> [--url <ws://nodo/chat>]...

  -n, --name <nombre>   nombre con el que registrarte
  -u, --url <url>       nodo al que conectar (por defecto ${DEFAULT_URL});
                        repítelo para dar nodos de reserva al reconectar
  -h, --help            esta ayuda

Dentro del chat, escribe /help para ver los comandos.`;

export type CliRequest =
  | { readonly kind: 'help' }
  | { readonly kind: 'chat'; readonly name: string; readonly urls: readonly string[] }
  | { readonly kind: 'usage-error'; readonly message: string };

/** Reads the command line: `chat` with a name and optional node URLs, or help. */
export function parseCliArgs(argv: readonly string[]): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        name: { type: 'string', short: 'n' },
        url: { type: 'string', short: 'u', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return { kind: 'usage-error', message: err instanceof Error ? err.message : String(err) };
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  const [command, ...extra] = positionals;
  if (command !== 'chat') return { kind: 'usage-error', message: command ? `orden desconocida: ${command}` : 'falta la orden (chat)' };
  if (extra.length > 0) return { kind: 'usage-error', message: `argumentos de más: ${extra.join(' ')}` };
  if (!values.name) return { kind: 'usage-error', message: 'falta --name' };
  const urls = values.url ?? [DEFAULT_URL];
  const badUrl = urls.find((url) => !/^wss?:\/\/\S+$/.test(url));
  if (badUrl !== undefined) return { kind: 'usage-error', message: `URL no válida (se espera ws:// o wss://): ${badUrl}` };
  return { kind: 'chat', name: values.name, urls };
}
