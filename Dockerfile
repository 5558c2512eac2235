# syntax=docker/dockerfile:1
#
# Charla server image.
#   docker build -t charla .
#   docker run --rm -p 8080:8080 -e REDIS_URL=redis://redis.example:6379 charla
#
# Debian (glibc), not Alpine: the uWebSockets.js native binary is linked
# against glibc and would silently fall back to its slow JavaScript shim on musl.
ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies only. No dependency needs an install script:
# uWebSockets.js and its optional helpers ship prebuilt binaries.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
# uWebSockets.js ships a binary for every platform and Node ABI (over 100 MB),
# and stray copies of some beside its JavaScript fallback (20 MB): keep the
# one this image loads, and fail the build if it is not there.
RUN node -e " \
  const fs = require('node:fs'); \
  const pkg = 'node_modules/uWebSockets.js'; \
  const keep = 'uws_' + process.platform + '_' + process.arch + '_' + process.versions.modules + '.node'; \
  if (!fs.existsSync(pkg + '/binaries/' + keep)) throw new Error('uWebSockets.js has no binary ' + keep); \
  for (const file of fs.readdirSync(pkg + '/binaries')) if (file !== keep) fs.rmSync(pkg + '/binaries/' + file); \
  for (const file of fs.readdirSync(pkg + '/dist')) if (file.endsWith('.node')) fs.rmSync(pkg + '/dist/' + file); \
  fs.rmSync(pkg + '/docs', { recursive: true, force: true });"

# Compile TypeScript with the full dev toolchain.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig*.json ./
COPY src ./src
COPY scripts/build-web-client.ts ./scripts/
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root: the server never writes to its own tree, so the
# container also runs with a read-only root filesystem.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
# The client library, bundled for browsers.
COPY --from=build /app/dist/web ./dist/web
# The web client every node serves at /.
COPY web ./web
# The image's "node" user, by number so Kubernetes can verify runAsNonRoot.
USER 1000:1000
# The chat, the web client and the probes; metrics on their own port (CHARLA_METRICS_PORT).
EXPOSE 8080 9464
# No curl in the slim image: probe /healthz with node itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require('node:http').get({ host: '127.0.0.1', port: process.env.PORT || 8080, path: '/healthz', timeout: 2000 }, (res) => process.exit(res.statusCode === 200 ? 0 : 1)).on('timeout', () => process.exit(1)).on('error', () => process.exit(1))"]
# Exec form, no shell in between: SIGTERM reaches node, which drains its
# clients (close 1001) within CHARLA_SHUTDOWN_GRACE_MS and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/main.js"]
