import { createServer, connect, type Server, type Socket } from 'node:net';

interface Link {
  client: Socket;
  upstream: Socket;
  /** Everything the client sent so far (first KiB), to recognise a connection by its name. */
  preamble: string;
  deaf: boolean;
}

/**
 * A TCP relay between nodes and Redis that tests can break on purpose:
 * cut it (the port closes, connections drop), or make chosen connections
 * deaf (still open, nothing delivered), like a half-open TCP connection.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly links = new Set<Link>();

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
    const link: Link = { client, upstream, preamble: '', deaf: false };
    this.links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (link.preamble.length < 1024) link.preamble += chunk.toString('latin1');
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!link.deaf) client.write(chunk);
    });
    const drop = (): void => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  }
}
