// Helpers shared by the CLI commands: argument parsing, the workspace, a recorded run, and error -> exit
// code.
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { formatDiagnostic } from '../pipeline/load.js';
import { PipelineInvalidError, UsageError } from '../engine/index.js';
import { Layout } from '../engine/layout.js';
import type { Store } from '../store/index.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export type Options = NonNullable<ParseArgsConfig['options']>;

export const WORKSPACE_OPTION = { workspace: { type: 'string', short: 'C' } } as const;

export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message, usage);
  }
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
    if (e instanceof UsageError) {
      process.stderr.write(`pipe: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

export function requireFile(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `expected one pipeline file, got ${positionals.length}` : 'missing the pipeline file', usage);
  // Relative to where the user typed it (not to --workspace), like any other CLI path argument.
  return resolve(positionals[0]);
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
