import type { Logger } from 'pino';
import type { ChatService } from '../chat/chat-service.js';
import { trustedProxyList, type Config } from '../config.js';
import { resolveClientAddress } from './client-address.js';
import { registerHttpRoutes, type Readiness } from './http-routes.js';
import { UwsConnection, type SocketData } from './uws-connection.js';
import { UwsLocalDelivery } from './uws-local-delivery.js';
import { uWS, type TemplatedApp, type us_listen_socket } from './uws.js';

export const SUBPROTOCOL = 'chat-protocol';

export interface WebSocketServerOptions {
  readonly settings: Config['transport'];
  readonly nodeId: string;
  readonly readiness: Readiness;
  readonly logger: Logger;
}

/**
 * The uWS side of a node: upgrades on any path, hands frames to the chat
 * service and reports closes. It knows nothing of chat rules.
 */
export class WebSocketServer {
  readonly app: TemplatedApp = uWS.App();
  readonly delivery = new UwsLocalDelivery(this.app);
  private listenSocket: us_listen_socket | undefined;
  private chat: ChatService | undefined;
  private nextConnectionId = 1;
  private accepting = true;

  constructor(private readonly options: WebSocketServerOptions) {
    registerHttpRoutes(this.app, { nodeId: options.nodeId, readiness: options.readiness });
  }

  /** Wires the chat service in; the service needs `delivery` first, hence two steps. */
  attach(chat: ChatService): void {
    this.chat = chat;
    const { settings, logger } = this.options;
    const trusted = trustedProxyList(settings.trustedProxies);
    const textDecoder = new TextDecoder();

    this.app.ws<SocketData>('/*', {
      compression: uWS.DISABLED,
      maxPayloadLength: hardPayloadCeiling(settings.maxPayloadBytes),
      idleTimeout: settings.keepAliveSeconds,
      sendPingsAutomatically: settings.keepAliveSeconds > 0,
      maxBackpressure: settings.maxBackpressureBytes,
      closeOnBackpressureLimit: 1,

      upgrade: (res, req, context) => {
        const key = req.getHeader('sec-websocket-key');
        const offered = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        const forwardedFor = req.getHeader('x-forwarded-for');
        if (!this.accepting) {
          res.cork(() => res.writeStatus('503 Service Unavailable').end('shutting down'));
          return;
        }
        const peer = textDecoder.decode(res.getRemoteAddressAsText());
        const ip = resolveClientAddress(peer, forwardedFor, trusted);
        const protocol = offersProtocol(offered, SUBPROTOCOL) ? SUBPROTOCOL : '';
        res.cork(() => res.upgrade<SocketData>({ ip }, key, protocol, extensions, context));
      },

      open: (ws) => {
        const data = ws.getUserData();
        const connection = new UwsConnection(this.nextConnectionId++, data.ip, ws);
        data.connection = connection;
        data.session = chat.open(connection);
        logger.debug({ connId: connection.id, ip: data.ip }, 'connection opened');
      },

      message: (ws, message, isBinary) => {
        const { session, connection } = ws.getUserData();
        if (message.byteLength > settings.maxPayloadBytes) connection?.close('FRAME_TOO_LARGE');
        else if (session) chat.receive(session, message, isBinary);
      },

      close: (ws, code) => {
        const { connection, session } = ws.getUserData();
        connection?.markClosed();
        logger.debug({ connId: connection?.id, user: session?.name, code }, 'connection closed');
        if (session) void chat.closed(session);
      },
    });
  }

  /** Listens on host:port (0 picks a free port) and resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    if (!this.chat) throw new Error('attach a chat service before listening');
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${host}:${port}`));
          return;
        }
        this.listenSocket = socket;
        resolve(uWS.us_socket_local_port(socket));
      });
    });
  }

  /** Stops accepting connections; open ones are left to the caller to close. */
  stopListening(): void {
    this.accepting = false;
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
  }
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
