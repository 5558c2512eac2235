import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/process/free-port.js';
import { waitUntilAnswering, waitUntilReplicaInSync } from '../../scripts/process/redis-ready.js';
import { throwawayRedisArgs } from '../../scripts/process/redis-server-args.js';
import { TcpProxy } from './tcp-proxy.js';

/**
 * A master and one replica, `redis-server` binaries on free loopback
 * ports, the replica following the master through a TCP proxy: partition
 * the proxy and the replica falls behind while both stay up and connected,
 * which is how a master comes to die with writes its replica never saw.
 */
export interface ReplicatedRedis {
  readonly masterUrl: string;
  readonly replicaUrl: string;
  /** The replication link. */
  readonly link: TcpProxy;
  killMaster(): Promise<void>;
  stop(): Promise<void>;
}

export async function startReplicatedRedis(): Promise<ReplicatedRedis> {
  const directory = await mkdtemp(join(tmpdir(), 'charla-replica-'));
  const servers: ChildProcess[] = [];
  let link: TcpProxy | undefined;
  const kill = async (server: ChildProcess): Promise<void> => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    server.kill('SIGKILL');
    await once(server, 'exit');
  };
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map(kill));
    await link?.cut();
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const [masterPort, replicaPort] = [await freePort(), await freePort()];
    const masterUrl = `redis://127.0.0.1:${masterPort}`;
    const replicaUrl = `redis://127.0.0.1:${replicaPort}`;
    // No pause before a full sync (5 s by default, waiting for more replicas to share it).
    const master = spawn('redis-server', [...throwawayRedisArgs('127.0.0.1', masterPort), '--dir', directory, '--repl-diskless-sync-delay', '0'], { stdio: 'ignore' });
    servers.push(master);
    await waitUntilAnswering(masterUrl);
    link = await TcpProxy.start(masterUrl);
    servers.push(spawn('redis-server', [...throwawayRedisArgs('127.0.0.1', replicaPort), '--dir', directory, '--replicaof', '127.0.0.1', String(link.port)], { stdio: 'ignore' }));
    await waitUntilAnswering(replicaUrl);
    await waitUntilReplicaInSync(replicaUrl);
    return { masterUrl, replicaUrl, link, killMaster: () => kill(master), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

