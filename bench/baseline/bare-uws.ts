import { parseArgs } from 'node:util';
import { uWS, uwsRuntime } from '../../src/transport/uws.js';

/**
 * The yardstick for Charla's own cost: the least a uWebSockets.js server can
 * do for the benchmark's traffic. It speaks just enough of the protocol
 * (register, broadcast, private, with the same frames) on one node, with no
 * validation, presence store or bus. What Charla spends beyond this is the
 * price of its rules and its backends.
 */
const ROOM = 'room';

// A yardstick measured on the JavaScript shim would flatter Charla.
if (uwsRuntime !== 'native') throw new Error('uWebSockets.js loaded its JavaScript fallback; the baseline would be meaningless');

interface Peer {
  name?: string;
}

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } });
const byName = new Map<string, uWS.WebSocket<Peer>>();
const timestamp = (): string => new Date().toISOString();

const app = uWS.App()
  .ws<Peer>('/*', {
    compression: uWS.DISABLED,
    idleTimeout: 32,
    sendPingsAutomatically: true,
    maxBackpressure: 1024 * 1024,
    upgrade: (res, req, context) => {
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol').includes('chat-protocol') ? 'chat-protocol' : '';
      const extensions = req.getHeader('sec-websocket-extensions');
      res.upgrade<Peer>({}, key, protocol, extensions, context);
    },
    message: (ws, raw) => {
      const message = JSON.parse(Buffer.from(raw).toString('utf8')) as { type?: string; sender?: string; target?: string; content?: string };
      const peer = ws.getUserData();
      if (message.type === 'register' && message.sender && !peer.name) {
        peer.name = message.sender;
        byName.set(peer.name, ws);
        ws.send(JSON.stringify({ type: 'register_success', sender: 'server', content: 'Registro exitoso', userList: [peer.name], timestamp: timestamp() }));
        ws.subscribe(ROOM);
        ws.publish(ROOM, JSON.stringify({ type: 'status_update', sender: 'server', content: { user: peer.name, status: 'ACTIVO' }, timestamp: timestamp() }));
      } else if (message.type === 'broadcast' && peer.name) {
        app.publish(ROOM, JSON.stringify({ type: 'broadcast', sender: peer.name, content: message.content, timestamp: timestamp() }));
      } else if (message.type === 'private' && peer.name && message.target) {
        byName
          .get(message.target)
          ?.send(JSON.stringify({ type: 'private', sender: peer.name, target: message.target, content: message.content, timestamp: timestamp() }));
      }
    },
    close: (ws) => {
      const { name } = ws.getUserData();
      if (name) byName.delete(name);
    },
  })
  .get('/readyz', (res) => {
    res.end('ready');
  });

app.listen(values.host, Number(values.port), (socket) => {
  if (!socket) {
    process.stderr.write(`bare-uws: cannot listen on ${values.host}:${values.port}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ msg: 'bare uws listening', port: uWS.us_socket_local_port(socket) })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
