// Builds dist/: src/cli.ts bundled with its dependencies (esbuild), because a Node 20 ESM start-up
// spends most of its time resolving, reading and compiling a few hundred module files; one bundle
// plus on-demand chunks (the client SDK, `cap`) starts in about half the time (`npm run bench -- --only startup`).
// Type checking stays with `tsc --noEmit` (npm test); esbuild only strips types.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// The SDKs' Node shim evaluates ajv at import; ours requires it on first use (see src/runtime/sdk-shims.ts).
const lazySdkShims = {
  name: 'lazy-sdk-shims',
  setup(build) {
    const path = fileURLToPath(new URL('../src/runtime/sdk-shims.ts', import.meta.url));
    build.onResolve({ filter: /^@modelcontextprotocol\/(server|client)\/_shims$/ }, () => ({ path }));
  },
};

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { cli: 'src/cli.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Without comments the output is ASCII (V8 keeps source text as one byte per character, not two) and
  // smaller; names stay readable, and the source maps point into src/.
  minifyWhitespace: true,
  // Loaded with createRequire at first search; its dictionary stays a separate file in node_modules.
  external: ['synonyms'],
  // Bundled CommonJS dependencies call require() for Node built-ins; an ESM bundle has no require of its own.
  banner: {
    js: "import { createRequire as __gatewayCreateRequire } from 'node:module'; const require = __gatewayCreateRequire(import.meta.url);",
  },
  plugins: [lazySdkShims],
  logLevel: 'warning',
});
