import type { HttpResponse, TemplatedApp } from './uws.js';
import { uwsRuntime } from './uws.js';
import { asksForWebSocket, REFUSALS, type UpgradeRefusal } from './admit-upgrade.js';
import type { RequestFraming } from './request-framing.js';
import { serveStaticFile, type StaticSite } from './static-files.js';

export interface Readiness {
  /** Empty when ready; otherwise the reasons it is not. */
  notReadyReasons(): string[];
}

export interface HttpRouteOptions {
  readonly nodeId: string;
  readonly readiness: Readiness;
  /** The web client, served at `/`. */
  readonly site: StaticSite;
  readonly framing: RequestFraming;
}

function json(res: HttpResponse, status: string, body: unknown): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store').end(JSON.stringify(body));
  });
}

/** Answers a refused upgrade: its status, the headers it needs, and its reason as the body. */
export function writeRefusal(res: HttpResponse, { status, reason, headers = {} }: UpgradeRefusal): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', 'text/plain');
    for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    res.end(`${reason}\n`);
  });
}

/** Health endpoints for load balancers and orchestrators, and the web client, on the WebSocket port (metrics have a port of their own). */
export function registerHttpRoutes(app: TemplatedApp, { nodeId, readiness, site, framing }: HttpRouteOptions): void {
  app.get('/healthz', framing.guard((res) => json(res, '200 OK', { status: 'ok', node: nodeId, uws: uwsRuntime })));
  app.get(
    '/readyz',
    framing.guard((res) => {
      const reasons = readiness.notReadyReasons();
      if (reasons.length === 0) json(res, '200 OK', { status: 'ready', node: nodeId });
      else json(res, '503 Service Unavailable', { status: 'not ready', node: nodeId, reasons });
    }),
  );
  app.any('/*', framing.guard((res, req) => {
    // A request for a WebSocket that still ends up here is a handshake uWS could not take (its key is malformed).
    if (asksForWebSocket(req.getHeader('upgrade'))) return writeRefusal(res, REFUSALS.badHandshake);
    if (serveStaticFile(res, req, site)) return;
    const isRoot = req.getMethod() === 'get' && (req.getUrl() === '/' || req.getUrl() === '/chat');
    if (isRoot) {
      res.cork(() => {
        res.writeHeader('content-type', 'text/plain; charset=utf-8').end('Charla: connect a WebSocket client to /chat\n');
      });
    } else {
      json(res, '404 Not Found', { error: 'not found' });
    }
  }));
}
