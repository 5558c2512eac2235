import { createServer, connect, type Server, type Socket } from 'node:net';

interface Link {
  client: Socket;
  upstream: Socket;
  /** Everything the client sent so far (first KiB), to recognise a connection by its name. */
  preamble: string;
  deaf: boolean;
  /** What waits on each side of a partition, in order; `end` stands for the side's close. */
  towardsUpstream: (Buffer | 'end')[];
  towardsClient: (Buffer | 'end')[];
}

/**
 * A TCP relay between nodes and Redis that tests can break on purpose:
 * cut it (the port closes, connections drop), make chosen connections deaf
 * (still open, nothing delivered), like a half-open TCP connection, or
 * partition it: nothing crosses in either direction and nothing is closed,
 * new connections included, until it heals and everything held arrives in
 * order, closes last, as after a real network partition.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private partitioned = false;

  private constructor(
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(target: string, port = 0): Promise<TcpProxy> {
    const url = new URL(target);
    const proxy = new TcpProxy(port, url.hostname, Number(url.port || 6379));
    await proxy.listen();
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Stops relaying data from Redis to connections whose traffic contains `marker`. */
  deafen(marker: string): number {
    let count = 0;
    for (const link of this.links) {
      if (link.preamble.includes(marker)) {
        link.deaf = true;
        count++;
      }
    }
    return count;
  }

  /** From now on nothing crosses, either way, and no connection closes, until `heal`. */
  partition(): void {
    this.partitioned = true;
  }

  /** Delivers what the partition held, each side in order, then lets traffic flow again. */
  heal(): void {
    this.partitioned = false;
    for (const link of [...this.links]) {
      const upstreamEnded = this.flush(link.towardsUpstream.splice(0), link.upstream);
      const clientEnded = this.flush(link.towardsClient.splice(0), link.client);
      // A side closed during the partition: the link is over once the other has read what was held.
      if (upstreamEnded || clientEnded) this.links.delete(link);
    }
  }

  /** Closes the port and drops every connection, as a network cut would. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const link of this.links) {
      link.client.destroy();
      link.upstream.destroy();
    }
    this.links.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Opens the same port again. */
  async restore(): Promise<void> {
    await this.listen();
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((client) => this.relay(client));
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        const address = server.address();
        if (typeof address === 'object' && address) (this as { port: number }).port = address.port;
        this.server = server;
        resolve();
      });
    });
  }

  private relay(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost);
    const link: Link = { client, upstream, preamble: '', deaf: false, towardsUpstream: [], towardsClient: [] };
    this.links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (link.preamble.length < 1024) link.preamble += chunk.toString('latin1');
      if (this.partitioned) link.towardsUpstream.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (link.deaf) return;
      if (this.partitioned) link.towardsClient.push(chunk);
      else client.write(chunk);
    });
    const drop = (): void => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    // A side that closes during a partition: the other side learns it after the held bytes.
    const closed = (towardsOther: (Buffer | 'end')[]) => (): void => {
      if (this.partitioned) towardsOther.push('end');
      else drop();
    };
    client.on('error', () => undefined).on('close', closed(link.towardsUpstream));
    upstream.on('error', () => undefined).on('close', closed(link.towardsClient));
  }

  /** Writes what was held for `to`, in order; true when that ended with its peer's close. */
  private flush(held: (Buffer | 'end')[], to: Socket): boolean {
    for (const item of held) {
      if (item === 'end') {
        to.end();
        return true;
      }
      if (!to.destroyed) to.write(item);
    }
    return false;
  }
}
