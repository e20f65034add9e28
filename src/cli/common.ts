// Helpers shared by the CLI commands: argument parsing, the workspace, a recorded run, and error -> exit
// code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { formatDiagnostic } from '../pipeline/diagnostic.js';
import { PipelineInvalidError, UsageError } from '../engine/errors.js';
import { Layout } from '../engine/layout.js';
import type { Pipeline } from '../pipeline/types.js';
import type { Store } from '../store/index.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export type Options = NonNullable<ParseArgsConfig['options']>;

export const WORKSPACE_OPTION = { workspace: { type: 'string', short: 'C' } } as const;

/** `--help`/`-h` was given: the command's usage goes to stdout and the exit code is 0. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
  constructor(readonly usage: string) {
    super('help');
  }
}

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** Parses a command's argv (node's util.parseArgs, strict); every command also takes `--help`/`-h`. */
export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, ...HELP_OPTION }, allowPositionals: true, strict: true });
  } catch (e) {
    // `pipe run --bogus --help` still answers the help the user asked for.
    if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested(usage);
    throw new UsageError((e as Error).message, usage);
  }
  if ((parsed.values as { help?: boolean }).help) throw new HelpRequested(usage);
  return parsed;
}

export function workspaceOf(values: { workspace?: unknown }): string {
  return resolve(typeof values.workspace === 'string' ? values.workspace : process.cwd());
}

/** Runs a command body, turning known errors into messages and exit codes. */
export async function guard(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof PipelineInvalidError) {
      for (const d of e.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
      process.stderr.write(`${e.diagnostics.length} error${e.diagnostics.length === 1 ? '' : 's'}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof HelpRequested) {
      process.stdout.write(`${e.usage}\n`);
      return EXIT_OK;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`pipe: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

/**
 * The one pipeline file of a command's positionals. A path is relative to where the user typed it (not
 * to --workspace), like any other CLI path argument; a bare name that is not a file there is looked up in
 * the workspace's `pipelines/`, `.yaml` optional (`pipe run demo` runs pipelines/demo.yaml).
 */
export function requireFile(positionals: string[], usage: string, workspace: string): string {
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `expected one pipeline file, got ${positionals.length}` : 'missing the pipeline file', usage);
  const arg = positionals[0];
  const typed = resolve(arg);
  if (isFile(typed) || /[\\/]/.test(arg)) return typed;
  const dir = join(workspace, 'pipelines');
  for (const name of [arg, `${arg}.yaml`, `${arg}.yml`]) if (isFile(join(dir, name))) return join(dir, name);
  const known = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
  throw new UsageError(
    `no pipeline file "${arg}" (looked for ${arg} and pipelines/${arg}[.yaml] in ${workspace})`,
    known.length ? `pipelines here: ${known.join(', ')}` : 'pass the path of a pipeline file',
  );
}

/**
 * The pipeline named by a command's positionals, with its `--set`s. The engine and the pipeline loader
 * (yaml, the schema) are imported here, not by the command module, so that `--help` and usage errors
 * cost little more than a bare node start.
 */
export async function openPipelineArg(positionals: string[], values: { workspace?: unknown; set?: string[] }, usage: string): Promise<Pipeline> {
  const workspace = workspaceOf(values);
  const file = requireFile(positionals, usage, workspace);
  const { openPipeline } = await import('../engine/index.js');
  return openPipeline({ file, workspace, sets: values.set ?? [] });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A failure the user can act on (exit 1): `pipe COMMAND: message` and its hint on stderr. */
export function failed(command: string, e: { readonly message: string; readonly hint?: string | undefined }): number {
  process.stderr.write(`pipe ${command}: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
  return EXIT_FAILED;
}

/**
 * Opens the workspace's results store, resolves `which` (a run number, `latest` or undefined for the
 * latest) and runs `body`; the store is closed after. `name` is how the command spells the argument.
 */
export async function withRecordedRun(
  workspace: string,
  which: string | undefined,
  name: string,
  usage: string,
  body: (store: Store, runId: number) => Promise<number>,
): Promise<number> {
  const { openStore } = await import('../store/index.js');
  const store = openStore(new Layout(workspace).db);
  try {
    const latest = which === undefined || which === 'latest';
    const runId = latest ? store.listRuns(1)[0]?.id : Number(which);
    if (runId === undefined || !Number.isInteger(runId)) {
      throw new UsageError(latest ? `no runs recorded in ${workspace}` : `${name} must be a run number or "latest", got "${which}"`, usage);
    }
    return await body(store, runId);
  } finally {
    store.close();
  }
}
