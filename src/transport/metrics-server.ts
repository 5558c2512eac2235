import { RequestFraming } from './request-framing.js';
import { uWS, type HttpResponse, type TemplatedApp, type us_listen_socket } from './uws.js';

/** The Prometheus exposition of the node's metrics. */
export interface MetricsExposition {
  readonly contentType: string;
  render(): Promise<string>;
}

/**
 * `GET /metrics` on a listener of its own, as Prometheus exporters do, so
 * the port a balancer exposes serves the chat, the web client and the
 * probes only: the load, node names and counts stay on a port that only
 * the monitoring network reaches. Nothing else is served here.
 */
export class MetricsServer {
  private readonly app: TemplatedApp = uWS.App();
  private listenSocket: us_listen_socket | undefined;

  constructor(metrics: MetricsExposition) {
    const framing = new RequestFraming();
    this.app.get(
      '/metrics',
      framing.guard((res) => {
        let aborted = false;
        res.onAborted(() => {
          aborted = true;
        });
        metrics.render().then(
          (body) => {
            if (!aborted) res.cork(() => res.writeHeader('content-type', metrics.contentType).end(body));
          },
          () => {
            if (!aborted) plain(res, '500 Internal Server Error', 'metrics unavailable');
          },
        );
      }),
    );
    this.app.any('/*', framing.guard((res) => plain(res, '404 Not Found', 'only /metrics is served here')));
  }

  /** Listens on host:port (0 picks a free port) and resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen for metrics on ${host}:${port} (set CHARLA_METRICS_PORT to a free port)`));
          return;
        }
        this.listenSocket = socket;
        resolve(uWS.us_socket_local_port(socket));
      });
    });
  }

  close(): void {
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
  }
}

function plain(res: HttpResponse, status: string, body: string): void {
  res.cork(() => res.writeStatus(status).writeHeader('content-type', 'text/plain').end(`${body}\n`));
}
