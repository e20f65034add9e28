// Helpers shared by the CLI commands: argument parsing, the workspace, and error -> exit code.
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { formatDiagnostic } from '../pipeline/load.js';
import { PipelineInvalidError, UsageError } from '../engine/index.js';

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
