import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryCluster } from '../../src/backend/memory/memory-backend.js';
import { CliProcess } from '../support/cli-process.js';
import { startInProcessNode } from '../support/nodes.js';
import { TestClient } from '../support/test-client.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;

const TIME = String.raw`\[\d\d:\d\d:\d\d\]`;
const line = (text: string): RegExp => new RegExp(`^${TIME} ${text}$`);

describe('the charla terminal client', () => {
  const nodes: Node[] = [];
  const clients: TestClient[] = [];
  const programs: CliProcess[] = [];

  const startNode = async (memory = createMemoryCluster()): Promise<Node> => {
    const node = await startInProcessNode({}, memory);
    nodes.push(node);
    return node;
  };
  const register = async (node: Node, name: string): Promise<TestClient> => {
    const client = await TestClient.register(node.url, name);
    clients.push(client);
    return client;
  };
  const charla = (...args: string[]): CliProcess => {
    const program = CliProcess.start(args);
    programs.push(program);
    return program;
  };

  afterEach(async () => {
    await Promise.allSettled(programs.splice(0).map((program) => program.kill()));
    await Promise.allSettled(clients.splice(0).map((client) => client.terminate()));
    await Promise.allSettled(nodes.splice(0).map((node) => node.stop()));
  });

  it('chats with another user: broadcasts, private messages, list, info, statuses and departures', async () => {
    const node = await startNode();
    const luis = await register(node, 'luis');
    const ana = charla('chat', '--url', node.url, '--name', 'ana');
    await ana.waitForLine(line(String.raw`\* Conectado a ws://127\.0\.0\.1:\d+/chat como ana\.`));
    await ana.waitForLine(line(String.raw`Usuarios conectados \(2\): ana, luis`));
    expect((await luis.next('status_update')).content).toEqual({ user: 'ana', status: 'ACTIVO' });

    ana.type('hola a todos');
    expect(await luis.next('broadcast')).toMatchObject({ sender: 'ana', content: 'hola a todos' });
    await ana.waitForLine(line('ana: hola a todos'));

    luis.send({ type: 'broadcast', content: 'hola ana' });
    await ana.waitForLine(line('luis: hola ana'));
    luis.send({ type: 'private', target: 'ana', content: 'psst' });
    await ana.waitForLine(line(String.raw`\[privado\] luis → tú: psst`));

    ana.type('/msg luis solo para ti');
    expect(await luis.next('private')).toMatchObject({ sender: 'ana', target: 'luis', content: 'solo para ti' });
    await ana.waitForLine(line(String.raw`\[privado\] tú → luis: solo para ti`));
    ana.type('/msg nadie hola');
    await ana.waitForLine(line(String.raw`! Usuario no encontrado \(USER_NOT_FOUND\)`));

    ana.type('/list');
    ana.type('/info luis');
    await ana.waitForLine(line('luis: ACTIVO, IP 127.0.0.1'));
    ana.type('/status ocupado');
    expect((await luis.next('status_update')).content).toEqual({ user: 'ana', status: 'OCUPADO' });
    await ana.waitForLine(line(String.raw`\* tu estado es ahora OCUPADO`));
    ana.type('/status DORMIDO');
    await ana.waitForLine(line(String.raw`! uso: /status <ACTIVO\|OCUPADO\|INACTIVO>`));

    luis.send({ type: 'change_status', content: 'INACTIVO' });
    await ana.waitForLine(line(String.raw`\* luis está ahora INACTIVO`));
    const eva = await register(node, 'eva');
    await ana.waitForLine(line(String.raw`\* eva se ha conectado`));
    luis.send({ type: 'disconnect' });
    await ana.waitForLine(line(String.raw`\* luis ha salido`));

    ana.type('/help');
    await ana.waitForLine(/^ {2}\/msg <usuario> <texto> +mensaje privado$/);
    ana.type('/quit');
    expect(await ana.exited).toBe(0);
    await eva.nextMatching((frame) => frame.type === 'user_disconnected' && frame.content === 'ana ha salido');
    // Not a terminal: no colours, no prompt.
    expect(ana.lines.join('\n')).not.toMatch(/\u001b|ana> /);
  });

  it('finishes what was piped in before leaving at the end of input', async () => {
    const node = await startNode();
    const luis = await register(node, 'luis');
    const ana = charla('chat', '--url', node.url, '--name', 'ana');
    ana.type('uno');
    ana.type('/msg luis dos');
    ana.endInput();
    expect(await luis.next('broadcast')).toMatchObject({ content: 'uno' });
    expect(await luis.next('private')).toMatchObject({ content: 'dos' });
    expect((await luis.next('user_disconnected')).content).toBe('ana ha salido');
    expect(await ana.exited).toBe(0);
  });

  it('resumes on another node when its node drains, and says nothing was missed', async () => {
    const memory = createMemoryCluster();
    const first = await startNode(memory);
    const second = await startNode(memory);
    const luis = await register(second, 'luis');
    const ana = charla('chat', '--url', first.url, '--url', second.url, '--name', 'ana');
    await ana.waitForLine(/Conectado a .* como ana/);
    await first.stop();
    // Moved by the draining node (4006): the first attempt goes at once.
    await ana.waitForLine(line(String.raw`\* Conexión perdida \(connection closed \(4006 .*\)\)\. Reintento 1 en 0\.0 s con ws://.*…`));
    await ana.waitForLine(line(String.raw`\* Reconectado a ${second.url.replace(/\./g, '\\.')}; no te perdiste nada\.`));
    ana.type('sigo aquí');
    expect(await luis.next('broadcast')).toMatchObject({ sender: 'ana', content: 'sigo aquí' });
    // Her session was resumed: luis never saw her leave.
    expect(luis.pending('user_disconnected')).toEqual([]);
  });

  it('exits with an error when the name is taken or no node answers', async () => {
    const node = await startNode();
    await register(node, 'luis');
    const taken = charla('chat', '--url', node.url, '--name', 'luis');
    expect(await taken.exited).toBe(1);
    expect(taken.lines.join('\n')).toContain('El usuario ya existe (USERNAME_TAKEN)');

    const nobody = charla('chat', '--url', 'ws://127.0.0.1:9/chat', '--name', 'ana');
    expect(await nobody.exited).toBe(1);
    expect(nobody.lines.join('\n')).toMatch(/! No se pudo entrar: could not connect: ws:\/\/127\.0\.0\.1:9\/chat/);
  });

  it('explains its usage', async () => {
    const help = charla('--help');
    expect(await help.exited).toBe(0);
    expect(help.lines[0]).toBe('Uso: charla chat --name <nombre> [--url <ws://nodo/chat>]...');
    const missingName = charla('chat');
    expect(await missingName.exited).toBe(2);
    expect(missingName.lines[0]).toBe('charla: falta --name');
  });
});
