import { connect } from 'node:net';

/**
 * Sends `request` as it is over a fresh TCP connection and returns what came
 * back within `waitMs` (or until the server closed): for requests no HTTP
 * client library would send.
 */
export function rawRequest(port: number, request: string, waitMs = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    };
    const timer = setTimeout(done, waitMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('end', done);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.write(request);
  });
}

/** The status line of a raw HTTP response. */
export function statusLine(response: string): string {
  return response.split('\r\n', 1)[0] ?? '';
}
