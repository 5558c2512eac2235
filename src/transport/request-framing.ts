import type { HttpRequest, HttpResponse } from './uws.js';

type Handler = (res: HttpResponse, req: HttpRequest) => void;

const textDecoder = new TextDecoder();

/**
 * Why a request's length is ambiguous, or undefined when it has one clear
 * framing. A front proxy and this node must agree on where a request ends:
 * with two Content-Length fields, or Content-Length beside
 * Transfer-Encoding, one of them may read the rest of the body as a second
 * request (request smuggling), reaching routes the proxy blocks.
 */
export function ambiguousFraming(req: HttpRequest): string | undefined {
  let lengths = 0;
  let transferEncoding = false;
  req.forEach((name) => {
    if (name === 'content-length') lengths++;
    else if (name === 'transfer-encoding') transferEncoding = true;
  });
  if (lengths > 1) return 'repeated Content-Length';
  if (lengths === 1 && transferEncoding) return 'Content-Length with Transfer-Encoding';
  return undefined;
}

/**
 * Refuses requests of ambiguous length with 400 and closes their connection,
 * as RFC 9112 (6.3) asks. uWS itself drops Content-Length beside
 * Transfer-Encoding before any route sees it; a repeated Content-Length
 * reaches the routes. The close takes effect once the route returns, and
 * uWS parses what is left in that connection's buffer before: so whatever
 * arrives from the refused request's address in the same turn of the event
 * loop is refused too, and nothing smuggled behind it is ever served.
 */
export class RequestFraming {
  private readonly refusedThisTurn = new Set<string>();

  /** A route handler that first refuses requests of ambiguous length. */
  guard(handler: Handler): Handler {
    return (res, req) => {
      if (this.refuse(res, req)) return;
      handler(res, req);
    };
  }

  /** Answers the request with 400 and true when its framing is ambiguous, or it follows one that was. */
  refuse(res: HttpResponse, req: HttpRequest): boolean {
    const ambiguous = ambiguousFraming(req);
    const address = ambiguous || this.refusedThisTurn.size > 0 ? textDecoder.decode(res.getRemoteAddressAsText()) : '';
    if (!ambiguous && !this.refusedThisTurn.has(address)) return false;
    if (this.refusedThisTurn.size === 0) setImmediate(() => this.refusedThisTurn.clear());
    this.refusedThisTurn.add(address);
    res.cork(() => {
      res.writeStatus('400 Bad Request').writeHeader('content-type', 'text/plain').end(`${ambiguous ?? 'follows a request of ambiguous length'}\n`, true);
    });
    return true;
  }
}
