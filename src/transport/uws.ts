import type { Logger } from 'pino';
import uWS from 'uWebSockets.js';

/**
 * The one place that loads uWebSockets.js. The package quietly falls back to
 * a much slower JavaScript shim when its native binary does not load on this
 * platform; `uwsRuntime` tells which one we got.
 */
export { uWS };
export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';

export type UwsRuntime = 'native' | 'fallback';

export const uwsRuntime: UwsRuntime =
  typeof (uWS as unknown as Record<string, unknown>)['getParts'] === 'function' && !('default' in uWS)
    ? 'native'
    : 'fallback';

/** Logs loudly when the JavaScript fallback was loaded. */
export function reportUwsRuntime(logger: Logger): void {
  if (uwsRuntime === 'native') {
    logger.debug('uWebSockets.js native binary loaded');
    return;
  }
  logger.error(
    { platform: process.platform, arch: process.arch, abi: process.versions.modules },
    'uWebSockets.js FELL BACK TO ITS JAVASCRIPT SHIM: the native binary did not load; throughput will be a fraction of normal',
  );
}
