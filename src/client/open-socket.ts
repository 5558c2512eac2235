import { ChatClientError } from './client-error.js';
import type { CloseEventLike, WebSocketConstructor, WebSocketLike } from './websocket-like.js';

export const SUBPROTOCOL = 'chat-protocol';

const utf8 = new TextDecoder();

/** Opens a WebSocket to `url`; rejects with CONNECT_FAILED when it closes first or stays silent `timeoutMs`. */
export function openSocket(WebSocket: WebSocketConstructor, url: string, timeoutMs: number): Promise<WebSocketLike> {
  return new Promise((resolve, reject) => {
    let socket: WebSocketLike;
    try {
      socket = new WebSocket(url, SUBPROTOCOL);
    } catch (err) {
      reject(new ChatClientError('CONNECT_FAILED', `${url}: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    const timer = setTimeout(() => {
      socket.onclose = null;
      socket.close();
      reject(new ChatClientError('CONNECT_FAILED', `${url}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.onopen = () => {
      clearTimeout(timer);
      resolve(socket);
    };
    // An error event carries no detail in browsers; the close event that follows tells what happened.
    socket.onerror = () => undefined;
    socket.onclose = (event) => {
      clearTimeout(timer);
      reject(new ChatClientError('CONNECT_FAILED', `${url}: closed before opening (${event.code})`));
    };
  });
}

export function describeClose({ code, reason }: CloseEventLike): string {
  return reason ? `${code} ${reason}` : String(code);
}

/** The text of a frame: text frames arrive as strings, binary ones (which Charla does not send) as bytes. */
export function frameText(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return utf8.decode(new Uint8Array(data));
  if (ArrayBuffer.isView(data)) return utf8.decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return undefined;
}
