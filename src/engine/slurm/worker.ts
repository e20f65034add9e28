// Inside a Slurm job: `pipe exec-instance REQUEST.json` loads the pipeline, finds the one instance the
// controller resolved (a built-in stage, or a command stage with secrets, whose output is masked here as
// in a local run), runs it into the job's output directory and writes the result file. It never
// opens the database (SQLite over NFS is unsafe, and the controller owns every commit): the controller
// reads the result file, checks the outputs and commits them exactly as it commits a local attempt.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StageError, type MetricRow, type RunInfo } from '../../stage-api.js';
import { HashCache, noHashRows } from '../../hash/cache.js';
import { openPipeline } from '../index.js';
import { execute } from '../execute.js';
import { fsyncTree } from '../commit.js';
import type { Prepared } from '../keys.js';

/** What the controller hands a job (request.json in the job's directory). */
export interface JobRequest {
  /** Absolute path of the pipeline file, and the `--set`s it was loaded with. */
  readonly pipeline: string;
  readonly sets: readonly string[];
  readonly workspace: string;
  readonly instance: string;
  /** The instance as the controller resolved it: key, params (absolute paths), argv, env. */
  readonly prepared: Prepared;
  readonly outDir: string;
  readonly logPath: string;
  readonly resumeDir: string;
  readonly kindCacheDir: string;
  readonly run: RunInfo;
  /** Where to write the JobResult. */
  readonly result: string;
}

/** The job's result file: written last, atomically (tmp + rename), so its presence means complete. */
export interface JobResult {
  readonly status: 'succeeded' | 'failed';
  /** A command's exit code (commands write their result from the job script). */
  readonly exit_code?: number;
  readonly error?: string;
  readonly hint?: string;
  readonly metrics?: MetricRow[];
}

export function writeResult(path: string, r: JobResult): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, `${JSON.stringify(r)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** Runs the requested instance; returns the exit code of the job (0 when the stage succeeded). */
export async function execInstance(requestPath: string): Promise<number> {
  const req = JSON.parse(readFileSync(requestPath, 'utf8')) as JobRequest;
  // Slurm sends SIGTERM on scancel and at the time limit: stages see it as their abort signal.
  const abort = new AbortController();
  process.once('SIGTERM', () => abort.abort(new StageError('the Slurm job was signalled (scancel or time limit)')));
  let result: JobResult;
  try {
    const p = await openPipeline({ file: req.pipeline, workspace: req.workspace, sets: req.sets });
    const inst = p.byId.get(req.instance);
    if (!inst) throw new StageError(`instance ${req.instance} is not in ${p.relFile} as this node reads it`, 'the pipeline file changed while the run was going: run again');
    const code = req.prepared.components.code;
    if (inst.kind && (code.kind !== inst.kind.kind || code.version !== inst.kind.version))
      throw new StageError(
        `${inst.kind.kind} is version ${inst.kind.version} on this node, the controller computed the key for ${String(code.version)}`,
        'the compute nodes must run the same pipe installation as the controller (a shared filesystem)',
      );
    const { metrics } = await execute({
      inst,
      prepared: req.prepared,
      workspace: req.workspace,
      run: req.run,
      outDir: req.outDir,
      logPath: req.logPath,
      resumeDir: req.resumeDir,
      kindCacheDir: req.kindCacheDir,
      signal: abort.signal,
      hashes: new HashCache(noHashRows),
      // --export=ALL: the job's environment is the controller's (secrets included, never written to disk).
      env: process.env,
      onProgress: () => undefined,
    });
    fsyncTree(req.outDir);
    result = { status: 'succeeded', metrics };
  } catch (e) {
    const err = e as Error;
    const user = e instanceof StageError;
    result = {
      status: 'failed',
      error: user ? err.message : `${err.name}: ${err.message}`,
      ...(user ? (e.hint ? { hint: e.hint } : {}) : { hint: err.stack?.split('\n').slice(1, 4).join('\n') ?? '' }),
    };
  }
  writeResult(req.result, result);
  return result.status === 'succeeded' ? 0 : 1;
}
