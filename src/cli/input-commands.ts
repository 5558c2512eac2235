import { isUserStatus, USER_STATUSES, type UserStatus } from '../protocol/status.js';

/** What one line typed in the terminal asks for. */
export type InputCommand =
  | { readonly kind: 'broadcast'; readonly content: string }
  | { readonly kind: 'private'; readonly target: string; readonly content: string }
  | { readonly kind: 'list' }
  | { readonly kind: 'info'; readonly target: string }
  | { readonly kind: 'status'; readonly status: UserStatus }
  | { readonly kind: 'quit' }
  | { readonly kind: 'help' }
  | { readonly kind: 'nothing' }
  | { readonly kind: 'invalid'; readonly message: string };

export const COMMAND_HELP = `Comandos:
  <texto>                     mensaje para todos
  /msg <usuario> <texto>      mensaje privado
  /list                       usuarios conectados
  /info <usuario>             estado e IP de un usuario
  /status <${USER_STATUSES.join('|')}>  cambia tu estado
  /quit                       salir
  /help                       esta ayuda
Empieza con // un mensaje para todos que empiece por /.`;

/** Parses one input line. Plain text is a broadcast; `//text` sends `/text`. */
export function parseInputLine(line: string): InputCommand {
  const text = line.trim();
  if (text === '') return { kind: 'nothing' };
  if (text.startsWith('//')) return { kind: 'broadcast', content: text.slice(1) };
  if (!text.startsWith('/')) return { kind: 'broadcast', content: text };
  const [word = '', ...args] = text.slice(1).split(/\s+/);
  const rest = text.slice(1 + word.length).trim();
  switch (word.toLowerCase()) {
    case 'msg': {
      const [target, ...words] = args;
      const content = rest.slice((target ?? '').length).trim();
      if (!target || words.length === 0) return { kind: 'invalid', message: 'uso: /msg <usuario> <texto>' };
      return { kind: 'private', target, content };
    }
    case 'list':
      return { kind: 'list' };
    case 'info':
      return args.length === 1 ? { kind: 'info', target: args[0]! } : { kind: 'invalid', message: 'uso: /info <usuario>' };
    case 'status': {
      const status = rest.toUpperCase();
      return isUserStatus(status)
        ? { kind: 'status', status }
        : { kind: 'invalid', message: `uso: /status <${USER_STATUSES.join('|')}>` };
    }
    case 'quit':
      return { kind: 'quit' };
    case 'help':
      return { kind: 'help' };
    default:
      return { kind: 'invalid', message: `comando desconocido: /${word} (escribe /help)` };
  }
}
