import type { Logger } from 'pino';
import type { ConnectionHandler } from '../chat/connection-handler.js';
import type { LocalDelivery } from '../chat/local-delivery.js';
import { trustedProxyList, type Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import { capacityRefusal, REFUSALS, screenUpgrade, type UpgradeRefusal } from './admit-upgrade.js';
import { tokenFromRequest, verifyToken, type TokenPolicy } from './auth-token.js';
import { resolveClientAddress } from './client-address.js';
import { ConnectionLimits } from './connection-limits.js';
import { registerHttpRoutes, writeRefusal, type Readiness } from './http-routes.js';
import { KeepAlive } from './keep-alive.js';
import { RequestFraming } from './request-framing.js';
import type { StaticSite } from './static-files.js';
import { UwsConnection, type SocketData } from './uws-connection.js';
import { UwsLocalDelivery } from './uws-local-delivery.js';
import { uWS, type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from './uws.js';

export const SUBPROTOCOL = 'chat-protocol';

export interface TransportStats {
  readonly attachedUsers: number;
  readonly countedConnections: number;
  readonly countedAddresses: number;
}
const CONNECTION_CHECK_MS = 1000;

/** The transport's configuration, with the connection cap resolved to a number (0: none). */
export type TransportSettings = Omit<Config['transport'], 'maxConnections'> & { readonly maxConnections: number };

export interface WebSocketServerOptions<H extends ConnectionHandler> {
  readonly settings: TransportSettings;
  /** With it, every upgrade needs a token this policy accepts. */
  readonly auth?: TokenPolicy;
  readonly nodeId: string;
  readonly readiness: Readiness;
  readonly site: StaticSite;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Builds what handles the connections, from the server's own fan-out to them. */
  readonly handlerFor: (local: LocalDelivery) => H;
}

const ADDRESS_FULL_WARNING_INTERVAL_MS = 60_000;

/**
 * The uWS side of a node: upgrades on any path (with the admission checks
 * of the configuration), hands frames to the chat service and reports
 * closes. It knows nothing of chat rules.
 */
export class WebSocketServer<H extends ConnectionHandler> {
  readonly handler: H;
  private readonly app: TemplatedApp = uWS.App();
  private readonly delivery: UwsLocalDelivery;
  private readonly limits: ConnectionLimits;
  private listenSocket: us_listen_socket | undefined;
  private nextConnectionId = 1;
  private accepting = false;
  /** Open connections by id: the delivery finds the socket behind a chat connection here. */
  private readonly open = new Map<number, UwsConnection>();
  private connectionCheckTimer: NodeJS.Timeout | undefined;
  private readonly keepAlive: KeepAlive;
  private addressFullWarnedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: WebSocketServerOptions<H>) {
    this.delivery = new UwsLocalDelivery(this.app, options.metrics, (id) => this.open.get(id));
    this.limits = new ConnectionLimits(options.settings);
    this.keepAlive = new KeepAlive(options.settings.keepAliveSeconds * 1000);
    this.handler = options.handlerFor(this.delivery);
    const framing = new RequestFraming();
    registerHttpRoutes(this.app, { nodeId: options.nodeId, readiness: options.readiness, site: options.site, framing });
    this.serveWebSockets(this.handler, framing);
  }

  private serveWebSockets(chat: ConnectionHandler, framing: RequestFraming): void {
    const { settings, logger, metrics, auth } = this.options;
    const trusted = trustedProxyList(settings.trustedProxies);
    const allowedOrigins = new Set(settings.allowedOrigins);
    const textDecoder = new TextDecoder();

    const refuse = (res: HttpResponse, refusal: UpgradeRefusal): void => {
      metrics.upgradeRejected(refusal.reason);
      writeRefusal(res, refusal);
    };
    const refuseCredential = (res: HttpResponse, why: string): void => {
      logger.info({ reason: why }, 'upgrade refused: bad credential');
      refuse(res, REFUSALS.unauthorized);
    };

    this.app.ws<SocketData>('/*', {
      compression: uWS.DISABLED,
      maxPayloadLength: hardPayloadCeiling(settings.maxPayloadBytes),
      // Pings and silent peers are the keep-alive's (checked every second):
      // uWS's own idle timeout would drop the TCP connection without a close frame.
      idleTimeout: 0,
      sendPingsAutomatically: false,
      // Slow readers are closed with 1013 by checkBackpressure (every second)
      // once past the configured limit. Until then uWS buffers up to twice that and skips
      // the socket beyond, which bounds memory during a burst; it is not told
      // to cut the socket itself, as it would do so without a close code.
      maxBackpressure: settings.maxBackpressureBytes * 2,
      closeOnBackpressureLimit: 0,

      upgrade: (res, req, context) => {
        if (framing.refuse(res, req)) {
          metrics.upgradeRejected('ambiguous_framing');
          return;
        }
        // Everything from `req` must be read before the first return or await.
        const key = req.getHeader('sec-websocket-key');
        const offered = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        const forwardedFor = forwardedForChain(req);
        const headers = {
          handshake: {
            method: req.getMethod(),
            upgrade: req.getHeader('upgrade'),
            connection: req.getHeader('connection'),
            version: req.getHeader('sec-websocket-version'),
            key,
          },
          origin: req.getHeader('origin'),
          token: auth ? tokenFromRequest(req.getHeader('authorization'), req.getQuery('token') ?? '') : undefined,
        };
        const policy = { accepting: this.accepting, allowedOrigins, authRequired: auth !== undefined };
        const screening = screenUpgrade(headers, policy);
        if (screening.verdict === 'refuse') {
          return screening.refusal === REFUSALS.unauthorized ? refuseCredential(res, 'no token') : refuse(res, screening.refusal);
        }
        const peer = textDecoder.decode(res.getRemoteAddressAsText());
        const upgrade = (allowedName: string | undefined): void => {
          if (!this.accepting) return refuse(res, REFUSALS.notServing);
          const ip = resolveClientAddress(peer, forwardedFor, trusted);
          const admission = this.limits.admit(ip);
          if (admission === 'ip_full') this.warnAddressFull(ip);
          const full = capacityRefusal(admission);
          if (full) return refuse(res, full);
          const protocol = offersProtocol(offered, SUBPROTOCOL) ? SUBPROTOCOL : '';
          const data: SocketData = allowedName === undefined ? { ip } : { ip, allowedName };
          res.cork(() => res.upgrade<SocketData>(data, key, protocol, extensions, context));
        };
        if (screening.verdict === 'admit' || auth === undefined) return upgrade(undefined);
        // Verification is asynchronous: the client may go away meanwhile, and then `res` must not be touched.
        let aborted = false;
        res.onAborted(() => (aborted = true));
        verifyToken(screening.token, auth).then(
          (check) => {
            if (aborted) return;
            if (check.ok) upgrade(check.subject);
            else refuseCredential(res, check.reason);
          },
          (err: unknown) => {
            logger.error({ err }, 'could not verify an upgrade credential');
            if (!aborted) refuse(res, { status: '500 Internal Server Error', reason: 'internal' });
          },
        );
      },

      open: (ws) => {
        const data = ws.getUserData();
        const connection = new UwsConnection(this.nextConnectionId++, data.ip, ws, metrics, data.allowedName);
        data.connection = connection;
        this.open.set(connection.id, connection);
        this.limits.opened(data.ip);
        data.session = chat.open(connection);
        logger.debug({ connId: connection.id, ip: data.ip }, 'connection opened');
      },

      message: (ws, message, isBinary) => {
        const { session, connection } = ws.getUserData();
        connection?.heard();
        if (message.byteLength > settings.maxPayloadBytes) connection?.close('FRAME_TOO_LARGE');
        else if (session) chat.receive(session, message, isBinary);
      },

      pong: (ws) => ws.getUserData().connection?.heard(),
      ping: (ws) => ws.getUserData().connection?.heard(),

      close: (ws, code) => {
        const data = ws.getUserData();
        const { connection, session } = data;
        if (!connection) return;
        connection.markClosed();
        this.open.delete(connection.id);
        this.limits.closed(data.ip);
        metrics.connectionClosed(connection.closeCode ?? code);
        logger.debug({ connId: connection.id, user: session?.name, code }, 'connection closed');
        if (session) void chat.closed(session);
      },
    });
  }

  /** Sizes of the transport's per-connection state, for leak checks. */
  stats(): TransportStats {
    return { attachedUsers: this.delivery.size, countedConnections: this.limits.size, countedAddresses: this.limits.addresses };
  }

  /** Closes clients whose unread output passed the limit: they do not keep up, and must not hold memory. */
  /**
   * An address reached its connection cap. Behind a load balancer that is
   * not listed in CHARLA_TRUSTED_PROXIES every client has the balancer's
   * address, and this is where an operator learns it: once a minute at most.
   */
  private warnAddressFull(ip: string): void {
    const now = performance.now();
    if (now - this.addressFullWarnedAt < ADDRESS_FULL_WARNING_INTERVAL_MS) return;
    this.addressFullWarnedAt = now;
    this.options.logger.warn(
      { ip, maxConnectionsPerIp: this.options.settings.maxConnectionsPerIp },
      'an address has as many connections as CHARLA_MAX_CONNECTIONS_PER_IP allows; more are refused (if it is a load balancer, list it in CHARLA_TRUSTED_PROXIES)',
    );
  }

  /** Every second: slow readers, silent peers, and closes nobody answered. */
  private checkConnections(): void {
    this.checkBackpressure();
    this.keepAlive.sweep(this.open.values(), Date.now());
  }

  private checkBackpressure(): void {
    const limit = this.options.settings.maxBackpressureBytes;
    for (const connection of this.open.values()) {
      if (connection.bufferedAmount() > limit) {
        this.options.logger.info({ connId: connection.id, buffered: connection.bufferedAmount() }, 'closing a client too slow to read');
        connection.close('SLOW_CONSUMER');
      }
    }
  }

  /** Listens on host:port (0 picks a free port) and resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${host}:${port}`));
          return;
        }
        this.listenSocket = socket;
        this.connectionCheckTimer = setInterval(() => this.checkConnections(), CONNECTION_CHECK_MS);
        this.connectionCheckTimer.unref();
        resolve(uWS.us_socket_local_port(socket));
      });
    });
  }

  /** Starts taking WebSocket upgrades (HTTP routes are served as soon as the port is open). */
  startAccepting(): void {
    this.accepting = true;
  }

  /**
   * Stops accepting connections; open ones are left to the caller to close.
   * The connection checks go on, so a client that does not answer its close
   * frame is dropped and the drain ends.
   */
  stopListening(): void {
    this.accepting = false;
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
  }

  /** Once every connection is closed: nothing left to check. */
  stopChecking(): void {
    clearInterval(this.connectionCheckTimer);
  }
}

/**
 * Every X-Forwarded-For field of the request, in order, as one list. A
 * proxy may add a field of its own instead of extending the client's (HAProxy
 * does), and getHeader returns only the first field: the one the client wrote.
 */
function forwardedForChain(req: HttpRequest): string {
  const fields: string[] = [];
  req.forEach((name, value) => {
    if (name === 'x-forwarded-for') fields.push(value);
  });
  return fields.join(', ');
}

/**
 * uWS drops the TCP connection without a close frame when a frame exceeds
 * its own limit, so it gets a higher one: frames up to this ceiling are read
 * and refused with a proper 1009; larger ones are cut off unread, which
 * bounds the memory a hostile client can make the node buffer.
 */
function hardPayloadCeiling(limit: number): number {
  return Math.min(limit * 4, limit + 1024 * 1024);
}

function offersProtocol(header: string, wanted: string): boolean {
  return header.split(',').some((offer) => offer.trim() === wanted);
}
