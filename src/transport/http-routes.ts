import type { HttpResponse, TemplatedApp } from './uws.js';
import { uwsRuntime } from './uws.js';

export interface Readiness {
  /** Empty when ready; otherwise the reasons it is not. */
  notReadyReasons(): string[];
}

export interface HttpRouteOptions {
  readonly nodeId: string;
  readonly readiness: Readiness;
}

function json(res: HttpResponse, status: string, body: unknown): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store').end(JSON.stringify(body));
  });
}

/** Health endpoints for load balancers and orchestrators, on the WebSocket port. */
export function registerHttpRoutes(app: TemplatedApp, { nodeId, readiness }: HttpRouteOptions): void {
  app.get('/healthz', (res) => json(res, '200 OK', { status: 'ok', node: nodeId, uws: uwsRuntime }));
  app.get('/readyz', (res) => {
    const reasons = readiness.notReadyReasons();
    if (reasons.length === 0) json(res, '200 OK', { status: 'ready', node: nodeId });
    else json(res, '503 Service Unavailable', { status: 'not ready', node: nodeId, reasons });
  });
  app.any('/*', (res, req) => {
    const isRoot = req.getMethod() === 'get' && (req.getUrl() === '/' || req.getUrl() === '/chat');
    if (isRoot) {
      res.cork(() => {
        res.writeHeader('content-type', 'text/plain; charset=utf-8').end('Charla: connect a WebSocket client to /chat\n');
      });
    } else {
      json(res, '404 Not Found', { error: 'not found' });
    }
  });
}
