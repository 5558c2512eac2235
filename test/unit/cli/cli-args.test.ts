import { describe, expect, it } from 'vitest';
import { DEFAULT_URL, parseCliArgs } from '../../../src/cli/cli-args.js';

describe('parseCliArgs', () => {
  it('reads the chat command with one or several node URLs', () => {
    expect(parseCliArgs(['chat', '--name', 'ana'])).toEqual({ kind: 'chat', name: 'ana', urls: [DEFAULT_URL] });
    expect(parseCliArgs(['chat', '-n', 'ana', '-u', 'ws://a/chat', '--url', 'wss://b/chat'])).toEqual({
      kind: 'chat',
      name: 'ana',
      urls: ['ws://a/chat', 'wss://b/chat'],
    });
    expect(parseCliArgs(['--help'])).toEqual({ kind: 'help' });
  });

  it('refuses what it cannot use', () => {
    expect(parseCliArgs([])).toEqual({ kind: 'usage-error', message: 'falta la orden (chat)' });
    expect(parseCliArgs(['talk', '--name', 'ana'])).toEqual({ kind: 'usage-error', message: 'orden desconocida: talk' });
    expect(parseCliArgs(['chat', '--name', 'ana', '--url', 'http://a/'])).toEqual({
      kind: 'usage-error',
      message: 'URL no válida (se espera ws:// o wss://): http://a/',
    });
    expect(parseCliArgs(['chat', '--nombre', 'ana'])).toMatchObject({ kind: 'usage-error' });
  });
});
