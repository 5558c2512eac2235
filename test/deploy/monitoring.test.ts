import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { loadComposeFile } from '../support/deploy/compose.js';
import { readRepoFile, readYamlFile, repoPath } from '../support/deploy/repo-files.js';
import { startInProcessNode } from '../support/nodes.js';
import { uniquePrefix } from '../support/redis-server.js';
import { itNeeding, TOOLS } from '../support/tools.js';

interface Panel {
  title: string;
  id: number;
  datasource?: { uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
}
interface Rules {
  groups: { rules: { alert: string; expr: string }[] }[];
}
interface PrometheusConfig {
  rule_files: string[];
  scrape_configs: { job_name: string }[];
}

const dashboard = JSON.parse(readRepoFile('deploy/grafana/dashboards/charla.json')) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
};
const alerts = readYamlFile('deploy/prometheus/alerts.yml') as Rules;
const prometheus = readYamlFile('deploy/prometheus/prometheus.yml') as PrometheusConfig;
const compose = loadComposeFile();

const dashboardQueries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => ({ where: `panel '${panel.title}'`, expr: t.expr })));
const alertQueries = alerts.groups.flatMap((group) => group.rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })));

/** Metric names a PromQL expression reads (Charla's own and the Node.js process metrics). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:charla|nodejs|process)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

/** The container path a repository file is mounted at in a compose service. */
function mountTarget(serviceName: string, repoFile: string): string | undefined {
  for (const volume of compose.services[serviceName]?.volumes ?? []) {
    if (typeof volume !== 'string') continue;
    const [source = '', target = ''] = volume.split(':');
    const relative = posix.relative(posix.normalize(source), posix.normalize(`./${repoFile}`));
    if (relative === '') return target;
    if (!relative.startsWith('..')) return posix.join(target, relative);
  }
  return undefined;
}

describe('monitoring: Prometheus alerts and the Grafana dashboard', () => {
  let exposition: string;
  beforeAll(async () => {
    const node = await startInProcessNode({ REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('metrics') });
    try {
      const response = await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`);
      expect(response.status).toBe(200);
      exposition = await response.text();
    } finally {
      await node.stop();
    }
  });

  /** Families the node exposes; a histogram also answers to its _bucket, _sum and _count series. */
  const exposedSeries = (): Set<string> => {
    const series = new Set<string>();
    for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      series.add(name!);
      if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) series.add(`${name}${suffix}`);
    }
    return series;
  };

  it('query only metrics a running node exposes at /metrics', () => {
    const exposed = exposedSeries();
    const queries = [...dashboardQueries, ...alertQueries];
    expect(queries.length).toBeGreaterThan(10);
    const missing = queries.flatMap(({ where, expr }) => metricNames(expr).filter((name) => !exposed.has(name)).map((name) => `${where}: ${name}`));
    expect(missing).toEqual([]);
  });

  it('chart every Charla metric the node exposes', () => {
    const charted = new Set(dashboardQueries.flatMap(({ expr }) => metricNames(expr)).map((name) => name.replace(/_(bucket|sum|count)$/, '')));
    const charla = [...exposition.matchAll(/^# TYPE (charla_\S+) /gm)].map((m) => m[1]!);
    expect(charla.filter((name) => !charted.has(name))).toEqual([]);
  });

  it('select the scrape job Prometheus defines for the nodes', () => {
    const jobs = prometheus.scrape_configs.map((job) => job.job_name);
    for (const { where, expr } of [...dashboardQueries, ...alertQueries]) {
      for (const [, job] of expr.matchAll(/job="([^"]+)"/g)) expect(jobs, where).toContain(job);
    }
  });

  it('are mounted where Prometheus and Grafana look for them in compose', () => {
    expect(prometheus.rule_files).toEqual([mountTarget('prometheus', 'deploy/prometheus/alerts.yml')]);
    const provider = readYamlFile('deploy/grafana/provisioning/dashboards/charla.yml') as { providers: { options: { path: string } }[] };
    const dashboardsDir = mountTarget('grafana', 'deploy/grafana/dashboards');
    expect(provider.providers.map((p) => p.options.path)).toEqual([dashboardsDir]);
    expect(mountTarget('grafana', 'deploy/grafana/provisioning/dashboards/charla.yml')).toBe('/etc/grafana/provisioning/dashboards/charla.yml');
    const home = (compose.services['grafana']?.environment as Record<string, string>)['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'];
    expect(home).toBe(mountTarget('grafana', 'deploy/grafana/dashboards/charla.json'));
  });

  it('read from the provisioned Prometheus data source', () => {
    const datasources = readYamlFile('deploy/grafana/provisioning/datasources/prometheus.yml') as { datasources: { uid: string; type: string; url: string }[] };
    const [source] = datasources.datasources;
    expect(source?.type).toBe('prometheus');
    expect(new URL(source!.url).hostname).toBe('prometheus');
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(variable?.query).toBe('prometheus');
    for (const panel of dashboard.panels.filter((p) => p.targets)) expect(panel.datasource?.uid, panel.title).toBe(`\${${variable!.name}}`);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });

  itNeeding([TOOLS.promtool], 'pass promtool (config, alert rules, and every dashboard query as a recording rule)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'charla-promtool-'));
    try {
      const config = readRepoFile('deploy/prometheus/prometheus.yml').replace(prometheus.rule_files[0]!, join(dir, 'alerts.yml'));
      await writeFile(join(dir, 'prometheus.yml'), config);
      await copyFile(repoPath('deploy/prometheus/alerts.yml'), join(dir, 'alerts.yml'));
      const asRules = dashboardQueries.map(({ expr }, i) => ({
        record: `dashboard:query${i}`,
        // Grafana's variables, as Grafana would fill them in.
        expr: expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*'),
      }));
      await writeFile(join(dir, 'dashboard-rules.yml'), JSON.stringify({ groups: [{ name: 'dashboard', rules: asRules }] }));
      for (const args of [['check', 'config', join(dir, 'prometheus.yml')], ['check', 'rules', join(dir, 'dashboard-rules.yml')]]) {
        const result = spawnSync('promtool', args, { encoding: 'utf8' });
        expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
