import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PromptTerminal } from '../../../src/cli/prompt-terminal.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A prompt on a fake terminal `columns` wide, with `typed` typed and not
 * yet entered. `visible()` is what was written since, cursor movements and
 * clears stripped out.
 */
async function promptWithInput(prompt: string, typed: string, columns = 40) {
  const input = new PassThrough();
  const output = Object.assign(new PassThrough(), { isTTY: true, columns, rows: 24 });
  let written = '';
  output.on('data', (chunk: Buffer) => (written += chunk.toString()));
  const terminal = new PromptTerminal({ input, output, interactive: true }, prompt);
  const lines: string[] = [];
  terminal.onLine((line) => lines.push(line));
  terminal.start();
  input.write(typed);
  await settle();
  written = '';
  const visible = () => written.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
  return { terminal, input, lines, visible };
}

describe('PromptTerminal on a terminal', () => {
  it('prints incoming lines above the prompt and draws the prompt and the partial input again', async () => {
    const { terminal, visible } = await promptWithInput('ana> ', 'hol');
    terminal.print('[12:00:00] luis: hola');
    expect(visible()).toBe('[12:00:00] luis: hola\nana> hol');
    terminal.close();
  });

  it('keeps output intact when the partial input wraps over several rows', async () => {
    const { terminal, visible } = await promptWithInput('> ', 'abcdefghijklmnop', 10);
    terminal.print('nuevo');
    // The cursor was on the input's second row: readline redraws from one row up, so one row is left for it.
    expect(visible()).toBe('nuevo\n\n> abcdefghijklmnop');
    terminal.close();
  });

  it('hands over complete lines', async () => {
    const { terminal, input, lines } = await promptWithInput('> ', 'hola\r');
    input.write('/list\r');
    await settle();
    expect(lines).toEqual(['hola', '/list']);
    terminal.close();
  });
});
