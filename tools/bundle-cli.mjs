#!/usr/bin/env node
// Bundles tsc's output for the `pipe` CLI (dist/src/cli/main.js and everything it imports, the npm
// packages included) into dist/cli/: `npm run build` runs it after tsc, and the test global setup after
// its compile. Why: every `pipe` call paid for Node resolving, reading and linking ~80 ES modules of
// dist/ and ~100 CommonJS files of yaml, better-sqlite3's wrapper, shell-quote... before any work (vega and
// vega-lite alone are ~150 modules, 0.6 s of CPU to import; 0.27 s bundled). A bundle is a handful of files
// (BENCHMARKS.md, "CLI start-up"). bin/pipe.js runs the bundle only when it is newer than tsc's last build
// (dist/.tsbuildinfo), else dist/src as before: a `tsc` alone never leaves an older bundle in use.
//
// Code splitting keeps the lazy loading of dist/ (a command's module, the runner, a stage kind, vega load on
// first use): each dynamic import() is its own chunk. Every module's `import.meta.url` stays the URL of
// its file in dist/ (not the chunk's), so what it locates relative to itself (bin/pipe.js for Slurm jobs,
// worker-thread entry points, a kind's own module, require() of packages left out) is found as before;
// worker threads load dist/ itself. Native addons stay outside (loaded from node_modules at run time).
//   node tools/bundle-cli.mjs            rebuild dist/cli/
//   node tools/bundle-cli.mjs --if-stale  only when dist/cli/ is older than dist/.tsbuildinfo
import { build } from 'esbuild';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const OUT = join(DIST, 'cli');
/** Packages with native addons: required from node_modules where they are installed. */
const NATIVE = ['better-sqlite3', 'onnxruntime-node', 'sharp'];
const MODULE_URL = '__pipe_module_url';

/** Whether dist/cli/ is missing or older than tsc's last build (the test global setup's check too). */
function bundleStale() {
  const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : undefined);
  const built = mtime(join(OUT, 'main.js'));
  const compiled = mtime(join(DIST, '.tsbuildinfo'));
  return built === undefined || compiled === undefined || built < compiled;
}

/** Each module that reads import.meta gets its own file's URL as a module-level constant. */
const moduleUrls = {
  name: 'module-urls',
  setup(b) {
    b.onLoad({ filter: /\.(js|mjs)$/ }, async ({ path }) => {
      const text = await readFile(path, 'utf8');
      if (!text.includes('import.meta')) return undefined;
      return { contents: `const ${MODULE_URL} = ${JSON.stringify(pathToFileURL(path).href)};\n${text}`, loader: 'js' };
    });
  },
};

async function bundle() {
  const tmp = join(DIST, `.cli-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  await build({
    entryPoints: { main: join(DIST, 'src', 'cli', 'main.js') },
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: NATIVE,
    define: { 'import.meta.url': MODULE_URL },
    // CommonJS packages inside an ES module bundle call require() (of node: builtins, of each other).
    banner: { js: "import { createRequire as __pipeCreateRequire } from 'node:module';\nconst require = __pipeCreateRequire(import.meta.url);" },
    plugins: [moduleUrls],
    logLevel: 'warning',
  });
  // Swapped in whole: a `pipe` starting meanwhile finds the old bundle or none (then dist/src), never half.
  rmSync(OUT, { recursive: true, force: true });
  renameSync(tmp, OUT);
}

if (!process.argv.includes('--if-stale') || bundleStale()) await bundle();
