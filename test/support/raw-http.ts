import { connect } from 'node:net';

/**
 * Sends `request` as it is over a fresh TCP connection and returns what came
 * back within `waitMs` (or until the server closed): for requests no HTTP
 * client library would send.
 */
export async function rawRequest(port: number, request: string, waitMs = 500): Promise<string> {
  return (await rawExchange(port, request, waitMs)).response;
}

/** What came back for `request`, and whether the server closed the connection within `waitMs`. */
export function rawExchange(port: number, request: string, waitMs = 500): Promise<{ response: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ response, closed });
    };
    const timer = setTimeout(() => done(false), waitMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.on('end', () => done(true));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? done(true) : reject(err)));
    socket.write(request);
  });
}

/** The status line of a raw HTTP response. */
export function statusLine(response: string): string {
  return response.split('\r\n', 1)[0] ?? '';
}
