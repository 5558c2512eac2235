import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where `npm run build` leaves the client library bundled for browsers; nodes serve it at /lib/charla-client.js. */
export const WEB_CLIENT_BUNDLE = 'dist/web/charla-client.js';

/** Bundles src/client (and the protocol modules it uses) into one ES module for the web client. */
export async function buildWebClient(): Promise<void> {
  await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: ['src/client/index.ts'],
    outfile: WEB_CLIENT_BUNDLE,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildWebClient();
