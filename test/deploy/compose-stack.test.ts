import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../scripts/process/free-port.js';
import { CLOSE_CODES } from '../../src/protocol/close-codes.js';
import { composeCommand, ComposeStack, run, type ContainerState } from '../support/compose-stack.js';
import { TestClient } from '../support/test-client.js';
import { describeNeeding, TOOLS } from '../support/tools.js';
import { waitUntil } from '../support/wait.js';

const command = composeCommand();
const report = (line: string) => process.stdout.write(`compose stack: ${line}\n`);
/** A fresh machine builds the image from nothing: npm ci twice, tsc, esbuild. */
const BUILD_TIMEOUT_MS = 10 * 60_000;

describeNeeding([TOOLS.docker, TOOLS.compose], 'the docker-compose stack, driven through HAProxy', () => {
  let stack: ComposeStack;
  let publicPort: number;
  let statsPort: number;
  let prometheusPort: number;
  const clients = new Map<string, TestClient>();
  let downed = false;

  const chatUrl = () => `ws://127.0.0.1:${publicPort}/chat`;
  const replicas = () => stack.containers('charla');
  const running = async () => (await replicas()).filter((c) => c.state === 'running');

  /** The replica (container) whose node holds `name`: a node is named after its container's hostname. */
  async function replicaOf(name: string): Promise<ContainerState> {
    const node = await stack.redisCli('HGET', `charla:user:${name}`, 'node');
    const replica = (await replicas()).find((c) => node.startsWith(`${c.id.slice(0, 12)}-`));
    if (!replica) throw new Error(`no replica holds ${name} (node '${node}')`);
    return replica;
  }

  /** Servers of HAProxy's charla backend that it marks UP. */
  async function serversUp(): Promise<number> {
    const csv = await (await fetch(`http://127.0.0.1:${statsPort}/;csv`)).text();
    return csv.split('\n').filter((row) => row.startsWith('charla,charla-') && row.split(',')[17] === 'UP').length;
  }

  async function allHealthy(count: number): Promise<boolean> {
    const up = await running();
    return up.length === count && up.every((c) => c.health === 'healthy') && (await serversUp().catch(() => 0)) === count;
  }

  async function register(name: string): Promise<TestClient> {
    const client = await TestClient.register(chatUrl(), name);
    clients.set(name, client);
    return client;
  }

  beforeAll(async () => {
    [publicPort, statsPort] = [await freePort(), await freePort()];
    stack = new ComposeStack(command!, { public: publicPort, stats: statsPort });
    const started = Date.now();
    await stack.compose(['up', '-d', '--build', '--scale', 'charla=3'], BUILD_TIMEOUT_MS);
    const upDone = Date.now();
    await waitUntil(() => allHealthy(3), 'three healthy replicas, all UP in HAProxy', 120_000, 500);
    report(`up (with build) took ${upDone - started} ms; all 3 replicas healthy and UP ${Date.now() - upDone} ms after up returned`);
  }, BUILD_TIMEOUT_MS + 150_000);

  afterAll(async () => {
    await Promise.all([...clients.values()].map((c) => c.terminate()));
    if (!downed && stack) await stack.compose(['--profile', 'monitoring', 'down', '-v', '--remove-orphans', '--timeout', '0'], 120_000);
  }, 150_000);

  it('runs an image that is non-root, read-only, healthy and on native uWS', async () => {
    const [replica] = await running();
    const inspected = JSON.parse(await run(['docker', 'inspect', replica!.id])) as [
      { Config: { User: string; Image: string }; HostConfig: { ReadonlyRootfs: boolean }; Image: string },
    ];
    expect(inspected[0].Config.User).toBe('1000:1000');
    expect(inspected[0].HostConfig.ReadonlyRootfs).toBe(true);
    expect((await run(['docker', 'exec', replica!.id, 'id', '-u'])).trim()).toBe('1000');
    const health = await run([
      'docker',
      'exec',
      replica!.id,
      'node',
      '-e',
      "fetch('http://127.0.0.1:8080/healthz').then((r) => r.text()).then((t) => process.stdout.write(t))",
    ]);
    expect(JSON.parse(health)).toMatchObject({ status: 'ok', uws: 'native' });
    const bytes = Number((await run(['docker', 'image', 'inspect', '-f', '{{.Size}}', inspected[0].Image])).trim());
    report(`image ${inspected[0].Config.Image}: ${(bytes / 1e6).toFixed(0)} MB`);
  });

  it('carries room, private and status traffic between users on different replicas', async () => {
    const ana = await register('ana');
    const bob = await register('bob');
    const eva = await register('eva');
    // HAProxy balances by least connections: three users, three replicas.
    const holders = new Set(await Promise.all(['ana', 'bob', 'eva'].map(async (name) => (await replicaOf(name)).id)));
    expect(holders.size).toBe(3);

    ana.send({ type: 'broadcast', sender: 'ana', content: 'hola a todos' });
    for (const client of [bob, eva]) expect(await client.next('broadcast')).toMatchObject({ sender: 'ana', content: 'hola a todos' });

    bob.send({ type: 'private', sender: 'bob', target: 'eva', content: 'solo para ti' });
    expect(await eva.next('private')).toMatchObject({ sender: 'bob', target: 'eva', content: 'solo para ti' });

    eva.send({ type: 'change_status', sender: 'eva', content: 'OCUPADO' });
    for (const client of [ana, bob]) {
      await client.nextMatching((f) => f.type === 'status_update' && JSON.stringify(f.content) === '{"user":"eva","status":"OCUPADO"}', "eva's new status");
    }
    ana.send({ type: 'user_info', sender: 'ana', target: 'eva' });
    expect(await ana.next('user_info_response')).toMatchObject({ target: 'eva', content: { status: 'OCUPADO' } });
  });

  it('scales to five replicas: HAProxy marks the new ones UP and sends them new connections', async () => {
    const before = new Set((await running()).map((c) => c.id));
    const started = Date.now();
    await stack.compose(['up', '-d', '--no-recreate', '--scale', 'charla=5'], 120_000);
    await waitUntil(() => allHealthy(5), 'five healthy replicas, all UP in HAProxy', 90_000, 500);
    report(`scaled 3 -> 5: all healthy and UP in ${Date.now() - started} ms`);
    await register('ivan');
    await register('olga');
    for (const name of ['ivan', 'olga']) expect(before.has((await replicaOf(name)).id)).toBe(false);
  });

  it('reaps the users of a killed replica: each other user hears of each departure once, within 10 s', async () => {
    const victim = await replicaOf('ana');
    const onVictim = new Set<string>();
    for (const name of clients.keys()) if ((await replicaOf(name)).id === victim.id) onVictim.add(name);
    const survivors = [...clients.entries()].filter(([name]) => !onVictim.has(name));
    for (const [, client] of survivors) client.discardPending();
    const killedAt = Date.now();
    await run(['docker', 'kill', victim.id]);
    await Promise.all(
      survivors.map(([, client]) =>
        client.nextMatching((f) => f.type === 'user_disconnected' && String(f.content).includes('ana'), "ana's departure", 15_000),
      ),
    );
    const reapedAfter = Date.now() - killedAt;
    report(`killed replica's users reaped ${reapedAfter} ms after docker kill`);
    expect(reapedAfter).toBeLessThan(10_000);
    await new Promise((r) => setTimeout(r, 1500));
    for (const [, client] of survivors) {
      expect(client.pending('user_disconnected').filter((f) => String(f.content).includes('ana'))).toEqual([]);
    }
    for (const name of onVictim) {
      void clients.get(name)?.terminate();
      clients.delete(name);
    }
  });

  it('stops a replica gracefully: its clients are closed with 1001 and it exits 0', async () => {
    const [name, client] = [...clients.entries()][0]!;
    const replica = await replicaOf(name);
    const closed = new Promise<number>((resolve) => client.socket.once('close', (code: number) => resolve(code)));
    await run(['docker', 'stop', replica.id], { timeoutMs: 60_000 });
    expect(await closed).toBe(CLOSE_CODES.SERVER_SHUTDOWN.code);
    const stopped = (await replicas()).find((c) => c.id === replica.id)!;
    expect(stopped).toMatchObject({ state: 'exited', exitCode: 0 });
    clients.delete(name);
  });

  it('with the monitoring profile, Prometheus scrapes every running replica', async () => {
    // Grafana's image is left out: only Prometheus is started from the profile.
    prometheusPort = await freePort();
    stack.publishPrometheusOn(prometheusPort);
    await stack.compose(['--profile', 'monitoring', 'up', '-d', 'prometheus'], 120_000);
    const expected = (await running()).length;
    const upTargets = async (): Promise<number> => {
      const response = await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/targets`).catch(() => undefined);
      if (!response?.ok) return 0;
      const body = (await response.json()) as { data: { activeTargets: { labels: { job: string }; health: string }[] } };
      return body.data.activeTargets.filter((t) => t.labels.job === 'charla' && t.health === 'up').length;
    };
    const after = await waitUntil(async () => (await upTargets()) === expected, `${expected} charla targets up in Prometheus`, 90_000, 1000);
    report(`Prometheus saw all ${expected} replicas up ${after} ms after it started`);
  }, 150_000);

  it('goes down leaving no container, network or volume behind', async () => {
    await Promise.all([...clients.values()].map((c) => c.terminate()));
    clients.clear();
    await stack.compose(['--profile', 'monitoring', 'down', '-v', '--remove-orphans', '--timeout', '15'], 120_000);
    downed = true;
    expect(await stack.leftovers()).toEqual([]);
  }, 150_000);
});
