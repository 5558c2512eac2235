import { describe, expect, it } from 'vitest';
import { parseInputLine } from '../../../src/cli/input-commands.js';

describe('parseInputLine', () => {
  it('reads plain text as a broadcast', () => {
    expect(parseInputLine('hola a todos ')).toEqual({ kind: 'broadcast', content: 'hola a todos' });
    expect(parseInputLine('//etc es un directorio')).toEqual({ kind: 'broadcast', content: '/etc es un directorio' });
    expect(parseInputLine('   ')).toEqual({ kind: 'nothing' });
  });

  it('reads the commands', () => {
    expect(parseInputLine('/msg luis hola, ¿qué tal?')).toEqual({ kind: 'private', target: 'luis', content: 'hola, ¿qué tal?' });
    expect(parseInputLine('/list')).toEqual({ kind: 'list' });
    expect(parseInputLine('/info luis')).toEqual({ kind: 'info', target: 'luis' });
    expect(parseInputLine('/status ocupado')).toEqual({ kind: 'status', status: 'OCUPADO' });
    expect(parseInputLine('/QUIT')).toEqual({ kind: 'quit' });
    expect(parseInputLine('/help')).toEqual({ kind: 'help' });
  });

  it('explains what is wrong with a command', () => {
    expect(parseInputLine('/msg luis')).toEqual({ kind: 'invalid', message: 'uso: /msg <usuario> <texto>' });
    expect(parseInputLine('/info')).toEqual({ kind: 'invalid', message: 'uso: /info <usuario>' });
    expect(parseInputLine('/status dormido')).toEqual({ kind: 'invalid', message: 'uso: /status <ACTIVO|OCUPADO|INACTIVO>' });
    expect(parseInputLine('/dance')).toEqual({ kind: 'invalid', message: 'comando desconocido: /dance (escribe /help)' });
  });
});
