/**
 * The layering rules of docs/architecture.md, checked in `npm test`
 * (test/unit/layering.test.ts). Arrows point down: node -> transport, chat,
 * backend; transport -> chat, protocol; chat -> backend/ports, protocol;
 * backend/memory and backend/redis -> backend/ports, protocol.
 */
const layer = (name, ...allowed) => ({
  name: `${name.replace(/\//g, '-')}-layering`,
  comment: `src/${name} may import only ${allowed.join(', ') || 'itself'} inside src`,
  severity: 'error',
  from: { path: `^src/${name}/` },
  to: { path: '^src/', pathNot: [`^src/${name}/`, ...allowed.map((a) => `^src/${a}`)] },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'no import cycles', from: {}, to: { circular: true } },
    layer('protocol'),
    layer('chat', 'protocol/', 'backend/ports.ts', 'backend/envelope.ts', 'metrics.ts'),
    layer('backend/memory', 'protocol/', 'backend/ports.ts', 'backend/envelope.ts'),
    layer('backend/redis', 'protocol/', 'backend/ports.ts', 'backend/envelope.ts', 'metrics.ts'),
    layer('transport', 'chat/', 'protocol/', 'metrics.ts', 'config.ts'),
    layer('client', 'protocol/'),
    layer('cli', 'client/', 'protocol/'),
    {
      name: 'backend-ports-are-pure',
      severity: 'error',
      from: { path: '^src/backend/(ports|envelope)\\.ts$' },
      to: { path: '^src/', pathNot: ['^src/protocol/', '^src/backend/(ports|envelope)\\.ts$'] },
    },
    {
      name: 'uws-is-loaded-in-one-place',
      comment: 'src/transport/uws.ts loads uWebSockets.js and detects its JavaScript fallback',
      severity: 'error',
      from: { pathNot: '^src/transport/uws\\.ts$' },
      to: { path: 'uWebSockets\\.js|uws-js-unofficial' },
    },
    {
      name: 'client-has-no-node-builtins',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'tools-do-not-import-test-support',
      severity: 'error',
      from: { path: '^(bench|scripts|src)/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
