// JSON Schema validators compiled once per schema, not once per process: ajv's generated code is kept as
// a "standalone" CommonJS module in node_modules/.cache/pipe-validators/, named by a hash of the schema,
// ajv's version and the options. Loading ajv and compiling the pipeline schema cost about 0.25 s of CPU,
// most of what a small `pipe run` spends before its first stage (and the test suite starts the CLI
// hundreds of times); requiring the cached module costs a few milliseconds and never loads ajv.
//
// The cached code is exactly what ajv's compile produced (same options, same errors with `verbose`), so a
// hit and a miss validate alike. Where the cache cannot be written (a read-only install), validators are
// compiled in the process as before. A changed schema has a new name; old files are a few KB each.
import type { Ajv2020, Options, ValidateFunction } from 'ajv/dist/2020.js';
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { JsonSchema } from '../stage-api.js';

const require = createRequire(import.meta.url);

const OPTIONS: Options = { allErrors: true, strict: false, useDefaults: true, verbose: true, validateSchema: false };

/** ajv with the options every pipe validator uses (loaded on first use: it is CommonJS). */
export function newAjv(extra: Options = {}): Ajv2020 {
  const { Ajv2020: Ajv } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  // validateSchema: false skips compiling the 2020-12 meta-schema (~300 ms per process); the schemas
  // compiled here are ours, and their tests exercise them.
  const ajv = new Ajv({ ...OPTIONS, ...extra });
  // `format: "path"` marks file/dir inputs; any string is syntactically a path.
  ajv.addFormat('path', true);
  return ajv;
}

/**
 * The node_modules folder ajv is installed in: the cached code requires ajv's small runtime helpers
 * (ajv/dist/runtime/...) by package name, which resolve from a folder inside it.
 */
function defaultCacheDir(): string {
  let dir = dirname(require.resolve('ajv'));
  while (dirname(dir) !== dir && !dir.endsWith('/node_modules')) dir = dirname(dir);
  return join(dir, '.cache', 'pipe-validators');
}

let ajvVersion: string | undefined;

/** The validator of `schema`: from the cache in `dir` when there, else compiled and written there. */
export function compiledValidator(schema: JsonSchema | object, dir = defaultCacheDir()): ValidateFunction {
  ajvVersion ??= (require('ajv/package.json') as { version: string }).version;
  const name = createHash('sha256').update(JSON.stringify([ajvVersion, OPTIONS, schema])).digest('hex').slice(0, 32);
  const file = join(dir, `${name}.cjs`);
  try {
    return require(file) as ValidateFunction;
  } catch {
    // Not cached yet (or unreadable): compile below.
  }
  const ajv = newAjv({ code: { source: true } });
  const validate = ajv.compile(schema);
  try {
    const { default: standaloneCode } = require('ajv/dist/standalone/index.js') as typeof import('ajv/dist/standalone/index.js');
    mkdirSync(dir, { recursive: true });
    // Written aside and renamed: a process requiring it never sees half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, standaloneCode(ajv, validate));
    renameSync(tmp, file);
  } catch {
    // A read-only or full disk: this process keeps its compiled validator, the next compiles again.
  }
  return validate;
}
