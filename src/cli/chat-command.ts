import { ChatClient, ChatClientError, type WebSocketConstructor } from '../client/index.js';
import { ChatFormat } from './chat-format.js';
import { COMMAND_HELP, parseInputLine, type InputCommand } from './input-commands.js';
import { PromptTerminal, type TerminalStreams } from './prompt-terminal.js';
import type { Style } from './style.js';

export interface ChatCommandOptions {
  readonly name: string;
  readonly urls: readonly string[];
  readonly streams: TerminalStreams;
  readonly style: Style;
  readonly WebSocket: WebSocketConstructor;
  /** Aborting it leaves the chat as `/quit` does (signals). */
  readonly stop?: AbortSignal;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;

/**
 * `charla chat`: registers, prints what happens in the room and runs the
 * commands typed. Resolves with the process exit code.
 */
export async function runChat(options: ChatCommandOptions): Promise<number> {
  const { name, urls, streams, style } = options;
  const client = new ChatClient({ url: urls, WebSocket: options.WebSocket });
  const format = new ChatFormat(style, name);
  const terminal = new PromptTerminal(streams, `${name}> `);
  const print = (text: string): void => terminal.print(text);
  /** Who is online, to tell a newcomer's join notice from a status change. */
  const online = new Set<string>();
  const replaceOnline = (users: readonly string[]): void => {
    online.clear();
    for (const user of users) online.add(user);
  };

  client.on('broadcast', (frame) => print(format.broadcast(frame)));
  client.on('private', (frame) => print(format.privateReceived(frame)));
  client.on('status_update', ({ content: { user, status }, timestamp }) => {
    if (online.has(user)) print(format.statusChanged(user, status, timestamp));
    else print(format.joined(user, timestamp));
    online.add(user);
  });
  client.on('user_disconnected', (frame) => {
    online.delete(frame.user);
    print(format.left(frame));
  });
  client.on('error', (frame) => print(format.serverError(frame)));
  // The node may have lost room messages for us: say so, and show the list it sends next.
  let listAfterGap = false;
  client.on('messages_missed', (frame) => {
    listAfterGap = true;
    print(format.messagesMissed(frame));
  });
  client.on('list_users_response', ({ content }) => {
    if (!listAfterGap) return;
    listAfterGap = false;
    replaceOnline(content);
    print(format.users(content));
  });
  client.on('invalid_frame', ({ reason }) => print(format.problem(`frame ilegible del servidor: ${reason}`)));
  client.on('reconnecting', (event) => print(format.reconnecting(event)));
  client.on('reconnected', ({ url, users, resumed }) => {
    replaceOnline(users ?? []);
    print(format.reconnected(url, resumed === true));
  });

  try {
    await client.connect();
    replaceOnline(await client.register(name));
  } catch (err) {
    terminal.close();
    await client.disconnect();
    const reason = describe(err);
    streams.output.write(`${format.problem(err instanceof ChatClientError && err.fromServer ? reason : `No se pudo entrar: ${reason}`)}\n`);
    return EXIT_FAILURE;
  }
  print(format.welcome(client.url, [...online]));

  return new Promise<number>((resolve) => {
    const inFlight = new Set<Promise<void>>();
    let ending = false;
    const end = (code: number): void => {
      if (ending) return;
      ending = true;
      terminal.close();
      resolve(code);
    };
    // Commands typed before quitting (or piped in) finish before the client leaves.
    const quit = async (): Promise<void> => {
      if (ending) return;
      await Promise.allSettled([...inFlight]);
      await client.disconnect();
      end(EXIT_OK);
    };
    client.on('closed', (event) => {
      if (event.deliberate) return;
      print(format.closed(event));
      end(EXIT_FAILURE);
    });
    options.stop?.addEventListener('abort', () => void quit());
    terminal.onEnd(() => void quit());
    terminal.onLine((line) => {
      const command = parseInputLine(line);
      if (command.kind === 'quit') {
        void quit();
        return;
      }
      const running = execute(command).catch((err: unknown) => print(format.problem(describe(err))));
      inFlight.add(running);
      void running.finally(() => inFlight.delete(running));
      terminal.showPrompt();
    });
    terminal.start();
  });

  async function execute(command: Exclude<InputCommand, { kind: 'quit' }>): Promise<void> {
    switch (command.kind) {
      case 'broadcast':
        // The node echoes it to everyone, this user included: that echo is what gets printed.
        return client.broadcast(command.content);
      case 'private':
        await client.sendPrivate(command.target, command.content);
        print(format.privateSent(command.target, command.content));
        return;
      case 'list': {
        const users = await client.listUsers();
        replaceOnline(users);
        print(format.users(users));
        return;
      }
      case 'info':
        print(format.userInfo(await client.userInfo(command.target)));
        return;
      case 'status':
        // Printed when the node's status_update comes back.
        return client.setStatus(command.status);
      case 'help':
        print(COMMAND_HELP);
        return;
      case 'invalid':
        print(format.problem(command.message));
        return;
      case 'nothing':
        return;
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof ChatClientError) return err.fromServer ? `${err.message} (${err.code})` : err.message;
  throw err;
}
