import { connect } from 'node:net';

/**
 * Sends one HTTP request exactly as given (request line and headers, no
 * others added) and resolves with the status code of the answer.
 */
export function rawHttpStatus(
  port: number,
  request: { method: string; path: string; version: string; headers: Record<string, string> },
  timeoutMs = 2000,
): Promise<number> {
  const head = [`${request.method} ${request.path} ${request.version}`, ...Object.entries(request.headers).map(([k, v]) => `${k}: ${v}`)];
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(`${head.join('\r\n')}\r\n\r\n`));
    let received = '';
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${head[0]}`));
    });
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3}) /.exec(received);
      if (status) {
        socket.destroy();
        resolve(Number(status[1]));
      }
    });
  });
}
