// Inside a Slurm job: `pipe exec-instance REQUEST.json` loads the pipeline, finds the one instance the
// controller resolved (a built-in stage, or a command stage with secrets, whose output is masked here as
// in a local run), runs it into the job's output directory and writes the result file. It never
// opens the database (SQLite over NFS is unsafe, and the controller owns every commit): the controller
// reads the result file, checks the outputs and commits them exactly as it commits a local attempt.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StageError, type MetricRow, type RunInfo } from '../../stage-api.js';
import { HashCache, noHashRows } from '../../hash/cache.js';
import { openPipeline } from '../index.js';
import { execute, type Attempt } from '../execute.js';
import { executeGroup } from '../execute-group.js';
import type { Instance, Pipeline } from '../../pipeline/types.js';
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
  /** A group (`group_by:`): every member (the first is the one above), run in one call. */
  readonly members?: readonly MemberRequest[];
}

/** One member of a group job. */
export interface MemberRequest {
  readonly instance: string;
  readonly prepared: Prepared;
  readonly outDir: string;
  readonly logPath: string;
  readonly resumeDir: string;
}

/** How a member of a group job ran by exec-instance ended (other command groups are judged by the controller). */
export interface MemberResult {
  readonly status: 'succeeded' | 'failed';
  readonly error?: string;
  readonly hint?: string;
  readonly metrics?: MetricRow[];
}

/** The job's result file: written last, atomically (tmp + rename), so its presence means complete. */
export interface JobResult {
  readonly status: 'succeeded' | 'failed';
  /** A command's exit code (commands write their result from the job script). */
  readonly exit_code?: number;
  readonly error?: string;
  readonly hint?: string;
  readonly metrics?: MetricRow[];
  /** A group job run by exec-instance: one entry per member, in the request's order. */
  readonly members?: readonly MemberResult[];
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
    result = req.members ? await runMembers(p, req, req.members, abort.signal) : await runOne(p, req, abort.signal);
  } catch (e) {
    result = { status: 'failed', ...failure(e) };
  }
  writeResult(req.result, result);
  return result.status === 'succeeded' ? 0 : 1;
}

function failure(e: unknown): { error: string; hint?: string } {
  const err = e as Error;
  if (e instanceof StageError) return { error: err.message, ...(e.hint ? { hint: e.hint } : {}) };
  return { error: `${err.name}: ${err.message}`, hint: err.stack?.split('\n').slice(1, 4).join('\n') ?? '' };
}

/** The instance as this node loads the pipeline: a built-in kind at the controller's version, or a command. */
function resolved(p: Pipeline, id: string, prepared: Prepared): Instance {
  const inst = p.byId.get(id);
  if (!inst) throw new StageError(`instance ${id} is not in ${p.relFile} as this node reads it`, 'the pipeline file changed while the run was going: run again');
  const code = prepared.components.code;
  if (inst.kind && (code.kind !== inst.kind.kind || code.version !== inst.kind.version))
    throw new StageError(
      `${inst.kind.kind} is version ${inst.kind.version} on this node, the controller computed the key for ${String(code.version)}`,
      'the compute nodes must run the same pipe installation as the controller (a shared filesystem)',
    );
  return inst;
}

function attempt(p: Pipeline, req: JobRequest, m: MemberRequest, signal: AbortSignal): Attempt {
  return {
    inst: resolved(p, m.instance, m.prepared),
    prepared: m.prepared,
    workspace: req.workspace,
    run: req.run,
    outDir: m.outDir,
    logPath: m.logPath,
    resumeDir: m.resumeDir,
    kindCacheDir: req.kindCacheDir,
    signal,
    hashes: new HashCache(noHashRows),
    // --export=ALL: the job's environment is the controller's (secrets included, never written to disk).
    env: process.env,
    onProgress: () => undefined,
    // This process runs one attempt (or one group) and holds no DAG: a worker thread would only add its start-up.
    sameThread: true,
  };
}

async function runOne(p: Pipeline, req: JobRequest, signal: AbortSignal): Promise<JobResult> {
  const { metrics } = await execute(attempt(p, req, { instance: req.instance, prepared: req.prepared, outDir: req.outDir, logPath: req.logPath, resumeDir: req.resumeDir }, signal));
  await fsyncTree(req.outDir);
  return { status: 'succeeded', metrics };
}

/** A group: one call (the kind's runGroup, or the command once); each member's outcome in the result. */
async function runMembers(p: Pipeline, req: JobRequest, members: readonly MemberRequest[], signal: AbortSignal): Promise<JobResult> {
  const attempts = members.map((m) => attempt(p, req, m, signal));
  const results = await executeGroup({ members: attempts, membersFile: join(dirname(req.result), 'members.json') });
  await Promise.all(results.map((r, i) => ('error' in r ? undefined : fsyncTree(attempts[i].outDir))));
  return {
    status: 'succeeded',
    members: results.map((r): MemberResult => ('error' in r ? { status: 'failed', ...failure(r.error) } : { status: 'succeeded', metrics: r.metrics })),
  };
}
