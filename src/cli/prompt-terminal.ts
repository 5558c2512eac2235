import { clearScreenDown, createInterface, cursorTo, moveCursor, type Interface } from 'node:readline';

export interface TerminalStreams {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  /** Both ends are a terminal: show a prompt and keep it below incoming output. */
  readonly interactive: boolean;
}

/**
 * Line input with a prompt that survives output: a line printed while the
 * user is typing appears above the prompt, and the prompt and the partial
 * input are drawn again below it. Without a terminal it reads and writes
 * plain lines.
 */
export class PromptTerminal {
  private readonly readline: Interface;
  private closed = false;

  constructor(
    private readonly streams: TerminalStreams,
    prompt: string,
  ) {
    this.readline = createInterface({ input: streams.input, output: streams.output, terminal: streams.interactive, prompt });
    this.readline.on('close', () => {
      this.closed = true;
    });
    // Input waits, buffered, until the handlers are in place.
    this.readline.pause();
  }

  /** Starts reading input and shows the prompt. */
  start(): void {
    this.readline.resume();
    this.showPrompt();
  }

  onLine(handler: (line: string) => void): void {
    this.readline.on('line', handler);
  }

  /** End of input (Ctrl-D, end of a pipe) or Ctrl-C. */
  onEnd(handler: () => void): void {
    this.readline.on('close', handler);
    this.readline.on('SIGINT', handler);
  }

  showPrompt(): void {
    if (this.streams.interactive && !this.closed) this.readline.prompt();
  }

  print(text: string): void {
    const { output, interactive } = this.streams;
    if (!interactive || this.closed) {
      output.write(`${text}\n`);
      return;
    }
    // Erase the prompt block (it may wrap over several rows) and print in its place.
    const { rows } = this.readline.getCursorPos();
    moveCursor(output, 0, -rows);
    cursorTo(output, 0);
    clearScreenDown(output);
    // readline redraws from `rows` rows above the cursor, so leave that many for it.
    output.write(`${text}\n${'\n'.repeat(rows)}`);
    this.readline.prompt(true);
  }

  close(): void {
    this.readline.close();
  }
}
