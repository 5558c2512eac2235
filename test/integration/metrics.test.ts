import { afterEach, describe, expect, inject, it } from 'vitest';
import { uniquePrefix } from '../support/redis-server.js';
import { startInProcessNode } from '../support/nodes.js';
import { TestClient } from '../support/test-client.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;

const metricValue = (body: string, series: string): number | undefined => {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('metrics', () => {
  let node: Node;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.terminate()));
    await node.stop();
  });

  it('exposes connections, users, traffic, errors, closes, Redis latency and event-loop lag in Prometheus format', async () => {
    node = await startInProcessNode({ REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('metrics'), CHARLA_REDIS_PROBE_MS: '100' });
    const ana = await TestClient.register(node.url, 'ana');
    const luis = await TestClient.register(node.url, 'luis');
    const anonymous = await TestClient.connect(node.url);
    clients.push(ana, luis, anonymous);
    ana.send({ type: 'broadcast', content: 'hola' });
    await luis.next('broadcast');
    await ana.next('broadcast');
    ana.send({ type: 'private', target: 'nadie', content: 'x' });
    await ana.nextError();
    anonymous.sendRaw('basura');
    await anonymous.nextError();
    await anonymous.close();
    await new Promise((r) => setTimeout(r, 350));

    const response = await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const body = await response.text();
    expect(metricValue(body, 'charla_connections')).toBe(2);
    expect(metricValue(body, 'charla_registered_users')).toBe(2);
    expect(metricValue(body, 'charla_messages_in_total{type="register"}')).toBe(2);
    expect(metricValue(body, 'charla_messages_in_total{type="broadcast"}')).toBe(1);
    expect(metricValue(body, 'charla_messages_in_total{type="invalid"}')).toBe(1);
    expect(metricValue(body, 'charla_messages_out_total{type="broadcast"}')).toBe(2);
    expect(metricValue(body, 'charla_messages_out_total{type="register_success"}')).toBe(2);
    expect(metricValue(body, 'charla_errors_total{code="USER_NOT_FOUND"}')).toBe(1);
    expect(metricValue(body, 'charla_errors_total{code="INVALID_JSON"}')).toBe(1);
    expect(metricValue(body, 'charla_closes_total{code="1000"}')).toBe(1);
    expect(metricValue(body, 'charla_redis_publish_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(metricValue(body, 'charla_redis_pubsub_roundtrip_seconds_count')).toBeGreaterThanOrEqual(1);
    for (const name of ['charla_redis_reconnects_total', 'charla_bus_dropped_total', 'charla_reaped_nodes_total', 'nodejs_eventloop_lag_seconds']) {
      expect(body).toContain(`# TYPE ${name}`);
    }
  });

  it('are served on a port of their own: the chat port does not answer /metrics, and the metrics port serves nothing else', async () => {
    node = await startInProcessNode({});
    expect(node.metricsPort).not.toBe(node.port);
    const onChatPort = await fetch(`http://127.0.0.1:${node.port}/metrics`);
    expect(onChatPort.status).toBe(404);
    expect(await onChatPort.text()).not.toContain('charla_');
    expect((await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`)).status).toBe(200);
    for (const path of ['/', '/chat', '/healthz', '/readyz', '/index.html']) {
      expect((await fetch(`http://127.0.0.1:${node.metricsPort}${path}`)).status, path).toBe(404);
    }
    await expect(TestClient.connect(`ws://127.0.0.1:${node.metricsPort}/chat`)).rejects.toThrow();
  });

  it('listen where CHARLA_METRICS_HOST says, apart from the chat port', async () => {
    node = await startInProcessNode({ HOST: '127.0.0.1', CHARLA_METRICS_HOST: '127.0.0.2' });
    expect((await fetch(`http://127.0.0.2:${node.metricsPort}/metrics`)).status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${node.metricsPort}/metrics`)).rejects.toThrow();
  });

  it('counts closes by a bounded set of codes, whatever codes clients choose', async () => {
    node = await startInProcessNode({});
    const closers = await Promise.all(Array.from({ length: 40 }, () => TestClient.connect(node.url)));
    await Promise.all(closers.map((client, i) => client.close(4100 + i)));
    await new Promise((r) => setTimeout(r, 200));
    const body = await (await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`)).text();
    const series = body.split('\n').filter((line) => line.startsWith('charla_closes_total{'));
    expect(series).toEqual(['charla_closes_total{code="application"} 40']);
  });
});
