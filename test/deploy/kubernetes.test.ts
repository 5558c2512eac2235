import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.js';
import { parseDockerfile } from '../support/deploy/dockerfile.js';
import {
  containerEnvironment,
  find,
  kustomizationResources,
  manifestName,
  renderKustomization,
  schemaErrors,
  selects,
  unknownFieldErrors,
  type Container,
  type HttpProbe,
  type Manifest,
  type Workload,
} from '../support/deploy/kubernetes.js';
import { readRepoFile } from '../support/deploy/repo-files.js';
import { startInProcessNode } from '../support/nodes.js';
import { uniquePrefix } from '../support/redis-server.js';
import { describeNeeding, itNeeding, TOOLS } from '../support/tools.js';
import { loadComposeFile } from '../support/deploy/compose.js';

const packageVersion = (): string => (JSON.parse(readRepoFile('package.json')) as { version: string }).version;

const KUSTOMIZATIONS = ['k8s/base', 'k8s/redis', 'k8s/overlays/dev', 'k8s/overlays/prod', 'k8s/overlays/sentinel', 'k8s/overlays/redis-cluster'];
/** What a pod of the Deployment would be called. */
const POD_NAME = 'charla-7d9c5b8f4-x2x9z';
/** Secrets the operator creates (k8s/README.md): the Redis URL in prod, and the optional one. */
const OPERATOR_SECRETS = {
  'charla-redis': { url: 'rediss://:secret@redis.example.internal:6380' },
  'charla-secrets': { CHARLA_AUTH_SECRET: 'a-secret-of-at-least-16-characters' },
};

/** The pod spec fields of the spread, which the shared typed view leaves out. */
type SpreadPodSpec = {
  topologySpreadConstraints?: { maxSkew: number; topologyKey: string; whenUnsatisfiable: string; labelSelector: { matchLabels: Record<string, string> } }[];
};
type RollingWorkload = Workload & { spec: { strategy?: { rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } } } };

async function allSchemaErrors(manifests: readonly Manifest[]): Promise<string[]> {
  return (await Promise.all(manifests.map(schemaErrors))).flat();
}

const written = KUSTOMIZATIONS.flatMap(kustomizationResources);
const kubectl = TOOLS.kubectl.present;
const rendered: Record<string, Manifest[]> = kubectl
  ? Object.fromEntries(await Promise.all(KUSTOMIZATIONS.map(async (dir) => [dir, await renderKustomization(dir)] as const)))
  : {};

describe('Kubernetes manifests', () => {
  it('as written, each resource file on its own, are valid against the Kubernetes schemas', async () => {
    expect(written.map((f) => f.file)).toContain('k8s/base/deployment.yaml');
    expect(await allSchemaErrors(written.flatMap((f) => f.manifests))).toEqual([]);
  });

  itNeeding([TOOLS.kubectl], 'as rendered by kubectl kustomize, for every kustomization, are valid against the Kubernetes schemas', async () => {
    expect(await allSchemaErrors(Object.values(rendered).flat())).toEqual([]);
  });

  it('have no field the API server does not know (kubectl apply validates strictly)', () => {
    expect(unknownFieldErrors([...written.flatMap((f) => f.manifests), ...Object.values(rendered).flat()])).toEqual([]);
  });
});

describeNeeding([TOOLS.kubectl], 'Kubernetes overlays, rendered by kubectl kustomize', () => {
  // Empty without kubectl: the skipped block is still collected.
  const overlays = ['k8s/overlays/dev', 'k8s/overlays/prod'].filter((dir) => rendered[dir]).map((dir) => ({ dir, manifests: rendered[dir]! }));
  const dockerfile = parseDockerfile(readRepoFile('Dockerfile'));
  let node: Awaited<ReturnType<typeof startInProcessNode>>;
  beforeAll(async () => {
    node = await startInProcessNode({ REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('k8s-probes') });
  });
  afterAll(() => node.stop());

  describe.each(overlays)('$dir', ({ manifests }) => {
    const deployment = find<RollingWorkload>(manifests, 'Deployment', 'charla')!;
    const pod = deployment.spec.template;
    const container = pod.spec.containers.find((c) => c.name === 'charla') as Container;
    const env = containerEnvironment(manifests, container, POD_NAME, OPERATOR_SECRETS);
    const config = loadConfig(env);
    const portNumber = (port: number | string | undefined) =>
      typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;

    it('puts everything in one namespace that the overlay creates', () => {
      const namespaces = new Set(manifests.filter((m) => m.kind !== 'Namespace').map((m) => m.metadata.namespace));
      expect([...namespaces]).toEqual(['charla']);
      expect(find(manifests, 'Namespace', 'charla')).toBeDefined();
    });

    it('sets only variables the server reads, with values it accepts, in cluster mode', () => {
      expect(Object.keys(env).filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual([]);
      expect(config.redis).toBeDefined();
      expect(config.transport.trustedProxies.length).toBeGreaterThan(0);
    });

    it('names each node after its pod (downward API), so node ids are unique and readable', () => {
      expect(container.env?.find((e) => e.name === 'CHARLA_NODE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
      expect(config.nodeId).toBe(POD_NAME);
    });

    it('opens the ports the server listens on and the image exposes, and has Prometheus scrape the metrics port', () => {
      expect(container.ports?.map((p) => p.containerPort)).toEqual([config.port, config.metrics.port]);
      expect(config.metrics.port).not.toBe(config.port);
      expect(dockerfile.instructions.find((i) => i.keyword === 'EXPOSE')?.args).toBe(`${config.port} ${config.metrics.port}`);
      expect(portNumber('metrics')).toBe(config.metrics.port);
      expect(pod.metadata.annotations?.['prometheus.io/port']).toBe(String(config.metrics.port));
      expect(pod.metadata.annotations?.['prometheus.io/path']).toBe('/metrics');
    });

    it('lets anyone reach the chat port and only the monitoring namespace the metrics port', () => {
      type Rule = { from?: { namespaceSelector?: { matchLabels: Record<string, string> } }[]; ports: { port: string | number }[] };
      const policy = find<Manifest & { spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: Rule[] } }>(manifests, 'NetworkPolicy', 'charla')!;
      expect(selects(policy.spec.podSelector.matchLabels, pod.metadata.labels ?? {})).toBe(true);
      expect(policy.spec.policyTypes).toEqual(['Ingress']);
      const byPort = new Map(policy.spec.ingress.flatMap((rule) => rule.ports.map((p) => [portNumber(p.port), rule.from] as const)));
      expect([...byPort.keys()].sort()).toEqual([config.port, config.metrics.port].sort());
      expect(byPort.get(config.port)).toBeUndefined(); // from anywhere
      expect(byPort.get(config.metrics.port)).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
    });

    it('probes readiness on /readyz and liveness on /healthz, on that port', async () => {
      const probes: [string, HttpProbe | undefined][] = [
        ['/readyz', container.readinessProbe],
        ['/healthz', container.livenessProbe],
        ['/healthz', container.startupProbe],
      ];
      for (const [path, probe] of probes) {
        expect(probe?.httpGet?.path).toBe(path);
        expect(portNumber(probe?.httpGet?.port)).toBe(config.port);
        // The kubelet's probe: HTTP/1.1 GET with a Host header. A running node answers 200.
        expect((await fetch(`http://127.0.0.1:${node.port}${path}`)).status).toBe(200);
      }
    });

    it('lets a pod leave the endpoints before SIGTERM, then drain before it is killed', () => {
      const preStop = container.lifecycle?.preStop?.exec?.command;
      expect(preStop?.[0]).toBe('sleep');
      const pauseSeconds = Number(preStop?.[1]);
      expect(pauseSeconds).toBeGreaterThan(0);
      expect(pod.spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(pauseSeconds * 1000 + config.shutdownGraceMs);
    });

    it('runs as the image\u2019s non-root user with a read-only root filesystem', () => {
      const imageUser = Number(dockerfile.instructions.find((i) => i.keyword === 'USER')?.args.split(':')[0]);
      expect(pod.spec.securityContext?.runAsNonRoot).toBe(true);
      expect(pod.spec.securityContext?.runAsUser).toBe(imageUser);
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    });

    it('meets the "restricted" Pod Security Standard its namespace enforces, in every workload', () => {
      const namespace = find(manifests, 'Namespace', 'charla')!;
      expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
      for (const workload of manifests.filter((m): m is Workload => m.kind === 'Deployment')) {
        const spec = workload.spec.template.spec;
        for (const c of spec.containers) {
          const context = { ...spec.securityContext, ...c.securityContext };
          expect(context, `${manifestName(workload)} ${c.name}`).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, seccompProfile: { type: 'RuntimeDefault' } });
          expect(context.privileged ?? false).toBe(false);
          expect(context.capabilities?.drop).toContain('ALL');
          expect(context.capabilities?.add ?? []).toEqual([]);
        }
        for (const volume of spec.volumes ?? []) expect(Object.keys(volume).filter((key) => key !== 'name')).toEqual(['emptyDir']);
      }
    });

    it('spreads replicas over machines and zones, softly, so a rollout\u2019s surge pod and a scale-up always find a place', () => {
      const labels = pod.metadata.labels;
      expect(selects(deployment.spec.selector.matchLabels, labels)).toBe(true);
      const spread = (pod.spec as SpreadPodSpec).topologySpreadConstraints ?? [];
      expect(spread.map((c) => c.topologyKey)).toEqual(expect.arrayContaining(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']));
      for (const constraint of spread) {
        expect(selects(constraint.labelSelector.matchLabels, labels), constraint.topologyKey).toBe(true);
        expect(constraint.maxSkew).toBe(1);
        // A hard rule, with maxSurge 1 / maxUnavailable 0 and as many nodes as
        // replicas, leaves the surge pod Pending: the rollout never ends.
        expect(constraint.whenUnsatisfiable, constraint.topologyKey).toBe('ScheduleAnyway');
      }
      expect(pod.spec.affinity?.podAntiAffinity?.['requiredDuringSchedulingIgnoredDuringExecution'] ?? [], 'required anti-affinity').toEqual([]);
      expect(deployment.spec.strategy?.rollingUpdate).toMatchObject({ maxSurge: 1, maxUnavailable: 0 });

      const service = find<Manifest & { spec: { selector: Record<string, string>; ports: { name: string; targetPort: string | number }[] } }>(manifests, 'Service', 'charla')!;
      expect(selects(service.spec.selector, labels)).toBe(true);
      expect(service.spec.ports.map((p) => portNumber(p.targetPort))).toEqual([config.port, config.metrics.port]);

      const pdb = find<Manifest & { spec: { maxUnavailable?: number; selector: { matchLabels: Record<string, string> } } }>(manifests, 'PodDisruptionBudget', 'charla')!;
      expect(selects(pdb.spec.selector.matchLabels, labels)).toBe(true);
      // Evictions one pod at a time; the evicted pod can always be rescheduled (soft spread).
      expect(pdb.spec.maxUnavailable).toBe(1);
    });

    it('refuses /metrics and the probes at the Ingress host, to every client address', () => {
      type IngressRule = { host?: string; http: { paths: { path: string; pathType: string; backend: { service: { name: string } } }[] } };
      type Ingress = Manifest & { spec: { ingressClassName?: string; rules: IngressRule[] } };
      const publicIngress = find<Ingress>(manifests, 'Ingress', 'charla')!;
      const privateIngress = find<Ingress>(manifests, 'Ingress', 'charla-private')!;
      expect(privateIngress.spec.ingressClassName).toBe(publicIngress.spec.ingressClassName);
      // On another host it would not apply: ingress-nginx matches the host first.
      expect(privateIngress.spec.rules.map((rule) => rule.host)).toEqual(publicIngress.spec.rules.map((rule) => rule.host));
      const paths = privateIngress.spec.rules.flatMap((rule) => rule.http.paths);
      // Exact paths win over the public Ingress's "/" prefix.
      expect(paths.map((p) => `${p.pathType} ${p.path}`).sort()).toEqual(['Exact /healthz', 'Exact /metrics', 'Exact /readyz']);
      expect(paths.every((p) => p.backend.service.name === 'charla')).toBe(true);
      const denied = privateIngress.metadata.annotations?.['nginx.ingress.kubernetes.io/denylist-source-range']?.split(',').map((cidr) => cidr.trim());
      expect(denied?.sort()).toEqual(['0.0.0.0/0', '::/0']);
      expect(publicIngress.metadata.annotations?.['nginx.ingress.kubernetes.io/denylist-source-range']).toBeUndefined();
    });

    it('routes the Ingress to the Service and scales the Deployment with an autoscaling/v2 HPA', () => {
      const ingress = find<Manifest & { spec: { rules: { http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[] } }>(manifests, 'Ingress', 'charla')!;
      const backends = ingress.spec.rules.flatMap((rule) => rule.http.paths.map((path) => path.backend.service));
      const service = find<Manifest & { spec: { ports: { name: string }[] } }>(manifests, 'Service', 'charla')!;
      for (const backend of backends) {
        expect(backend.name).toBe('charla');
        expect(service.spec.ports.map((p) => p.name)).toContain(backend.port.name);
      }
      // ingress-nginx would cut an idle WebSocket after proxy-read-timeout seconds.
      const readTimeout = Number(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout']);
      expect(readTimeout).toBeGreaterThan(4 * config.transport.keepAliveSeconds);

      const hpa = find<Manifest & { spec: { scaleTargetRef: { apiVersion: string; kind: string; name: string }; minReplicas: number } }>(manifests, 'HorizontalPodAutoscaler', 'charla')!;
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'charla' });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    });
  });

  it('dev bundles one Redis, at the address the pods are given', () => {
    const manifests = rendered['k8s/overlays/dev']!;
    const container = find<Workload>(manifests, 'Deployment', 'charla')!.spec.template.spec.containers[0]!;
    const endpoint = loadConfig(containerEnvironment(manifests, container, POD_NAME)).redis!.endpoint;
    if (!('url' in endpoint)) throw new Error('the dev overlay reaches Redis by REDIS_URL');
    const redisUrl = new URL(endpoint.url);
    const service = find<Manifest & { spec: { selector: Record<string, string>; ports: { port: number }[] } }>(manifests, 'Service', redisUrl.hostname)!;
    expect(service.spec.ports.map((p) => String(p.port))).toContain(redisUrl.port);
    const redis = find<Workload>(manifests, 'Deployment', 'redis')!;
    expect(redis.spec.replicas).toBe(1);
    expect(selects(service.spec.selector, redis.spec.template.metadata.labels)).toBe(true);
  });

  it('prod bundles no Redis and takes the URL from a Secret the operator creates', () => {
    const manifests = rendered['k8s/overlays/prod']!;
    expect(manifests.filter((m) => /redis/.test(m.metadata.name)).map(manifestName)).toEqual([]);
    const container = find<Workload>(manifests, 'Deployment', 'charla')!.spec.template.spec.containers[0]!;
    expect(container.env?.find((e) => e.name === 'REDIS_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'charla-redis', key: 'url' });
    expect(container.image).toMatch(/^registry\.example\.com\/charla:\d+\.\d+\.\d+$/);
  });

  it('sentinel reaches Redis through the sentinels it names, with no Redis URL beside them', () => {
    const manifests = rendered['k8s/overlays/sentinel']!;
    const container = find<Workload>(manifests, 'Deployment', 'charla')!.spec.template.spec.containers[0]!;
    expect(container.env?.find((e) => e.name === 'REDIS_URL')).toBeUndefined();
    const endpoint = loadConfig(containerEnvironment(manifests, container, POD_NAME)).redis!.endpoint;
    if (!('sentinels' in endpoint)) throw new Error('the sentinel overlay should reach Redis through Sentinel');
    expect(endpoint.sentinels).toHaveLength(3);
    expect(endpoint.masterName).toBe('mymaster');
  });

  it('redis-cluster reaches Redis through the cluster servers it names, with no Redis URL beside them, answering private messages once a replica holds them', () => {
    const manifests = rendered['k8s/overlays/redis-cluster']!;
    const container = find<Workload>(manifests, 'Deployment', 'charla')!.spec.template.spec.containers[0]!;
    expect(container.env?.find((e) => e.name === 'REDIS_URL')).toBeUndefined();
    const redis = loadConfig(containerEnvironment(manifests, container, POD_NAME)).redis!;
    if (!('clusterNodes' in redis.endpoint)) throw new Error('the redis-cluster overlay should reach Redis as a cluster');
    expect(redis.endpoint.clusterNodes).toHaveLength(3);
    expect(redis.replicaAck.replicas).toBe(1);
  });

  itNeeding([TOOLS.kubectl], 'base and dev deploy the image docker compose builds, tagged with the package version', () => {
    const built = loadComposeFile().services['charla']!.image;
    expect(built).toBe(`charla:${packageVersion()}`);
    for (const dir of ['k8s/base', 'k8s/overlays/dev']) {
      expect(find<Workload>(rendered[dir]!, 'Deployment', 'charla')!.spec.template.spec.containers[0]!.image).toBe(built);
    }
  });

  it('base runs three replicas', () => {
    expect(find<Workload>(rendered['k8s/base']!, 'Deployment', 'charla')!.spec.replicas).toBe(3);
  });
});
