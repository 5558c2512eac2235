import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `docker compose` (v2) where the plugin is installed, else `docker-compose` (v1). */
export function composeCommand(): readonly string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return undefined;
}

export function run(command: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  const [file, ...args] = command;
  return new Promise((resolve, reject) => {
    execFile(
      file!,
      args,
      { cwd: REPO_ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${command.join(' ')} failed: ${err.message}\n${stderr.slice(-4000)}`));
        else resolve(stdout);
      },
    );
  });
}

export interface ContainerState {
  readonly id: string;
  readonly name: string;
  /** running, exited, ... */
  readonly state: string;
  /** healthy, starting, unhealthy, or '' without a health check. */
  readonly health: string;
  readonly exitCode: number;
}

/**
 * The repository's docker-compose.yml as one project of its own: a unique
 * project name, and published ports moved to the ones given, so a run
 * never meets another stack or a service of the host.
 */
export class ComposeStack {
  readonly project = `charlae2e${randomBytes(4).toString('hex')}`;
  private env: NodeJS.ProcessEnv;

  constructor(
    private readonly command: readonly string[],
    ports: { readonly public: number; readonly stats: number },
  ) {
    this.env = {
      ...process.env,
      COMPOSE_PROJECT_NAME: this.project,
      CHARLA_PUBLIC_PORT: String(ports.public),
      CHARLA_STATS_PORT: String(ports.stats),
    };
  }

  /**
   * Publishes Prometheus (the monitoring profile) on `port`: chosen just
   * before it starts, since a port picked free minutes earlier may have been
   * taken meanwhile by another test.
   */
  publishPrometheusOn(port: number): void {
    this.env = { ...this.env, PROMETHEUS_PORT: String(port) };
  }

  compose(args: readonly string[], timeoutMs?: number): Promise<string> {
    return run([...this.command, ...args], { env: this.env, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  /** Every container of the project, or of one of its services. */
  async containers(service?: string): Promise<ContainerState[]> {
    const filters = ['--filter', `label=com.docker.compose.project=${this.project}`];
    if (service) filters.push('--filter', `label=com.docker.compose.service=${service}`);
    const ids = (await run(['docker', 'ps', '-a', '-q', '--no-trunc', ...filters])).split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const format = '{{.Id}}\t{{.Name}}\t{{.State.Status}}\t{{if .State.Health}}{{.State.Health.Status}}{{end}}\t{{.State.ExitCode}}';
    const lines = (await run(['docker', 'inspect', '-f', format, ...ids])).split('\n').filter(Boolean);
    return lines.map((line) => {
      const [id, name, state, health, exitCode] = line.split('\t');
      return { id: id!, name: name!.replace(/^\//, ''), state: state!, health: health ?? '', exitCode: Number(exitCode) };
    });
  }

  /** What is left of the project on the engine: containers, networks and volumes. */
  async leftovers(): Promise<string[]> {
    const label = `label=com.docker.compose.project=${this.project}`;
    const lists = await Promise.all([
      run(['docker', 'ps', '-a', '-q', '--filter', label]),
      run(['docker', 'network', 'ls', '-q', '--filter', label]),
      run(['docker', 'volume', 'ls', '-q', '--filter', label]),
    ]);
    return lists.flatMap((list, i) => list.split('\n').filter(Boolean).map((id) => `${['container', 'network', 'volume'][i]} ${id}`));
  }

  /** Runs a command in the project's Redis. */
  redisCli(...args: string[]): Promise<string> {
    return this.compose(['exec', '-T', 'redis', 'redis-cli', ...args]).then((out) => out.trim());
  }
}
