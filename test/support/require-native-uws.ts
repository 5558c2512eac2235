import { uwsRuntime } from '../../src/transport/uws.js';

// Every test file fails at once if uWebSockets.js fell back to its JavaScript shim:
// the suite would pass on a server an order of magnitude slower than the real one.
if (uwsRuntime !== 'native') {
  throw new Error('uWebSockets.js loaded its JavaScript fallback instead of the native binary');
}
