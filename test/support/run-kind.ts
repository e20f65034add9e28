// Runs one stage kind through the real engine (runPipeline): a one-stage pipeline file in a workspace,
// params validated and defaulted by the loader, path params hashed into the key, outputs committed to the
// store, metrics to metrics.jsonl, log lines to the run's log file. What tests of a kind read back.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipeline, silentReporter, type InstanceResult, type RunResult } from '../../src/engine/index.js';
import { Layout } from '../../src/engine/layout.js';
import { readJsonl } from '../../src/io/jsonl.js';
import { studyRows, type StudyMetric } from '../../src/formats.js';
import type { MetricRow, StageKind } from '../../src/stage-api.js';

/** The stage's name in the generated pipeline (and so its instance id). */
const STAGE = 'stage';

export interface KindRunOptions {
  /** Workspace holding `runs/` (default: a fresh temporary directory); reuse it to share store, kind cache and resume directories. */
  readonly workspace?: string;
  readonly signal?: AbortSignal;
  /** Each log line as the stage writes it. */
  readonly onLog?: (line: string) => void;
  /** Run even when the store already holds the key (a cached instance runs no code). */
  readonly force?: boolean;
}

export interface KindRun {
  readonly workspace: string;
  readonly result: RunResult;
  readonly instance: InstanceResult;
  /** The instance's directory in the store (ran or cached). */
  readonly outDir: string;
  /** Output name -> absolute path in the store (with `metrics`). */
  readonly outputs: Readonly<Record<string, string>>;
  /** The stage's metric rows in the study's vocabulary (rows without a method tag are left out). */
  readonly metrics: StudyMetric[];
  /** This run's log lines of the stage (none when cached). */
  readonly logs: string[];
}

/** The run did not succeed: its message is the instance's error, or why it was skipped ("interrupted"). */
export class KindRunError extends Error {
  override readonly name = 'KindRunError';
  constructor(
    readonly run: Omit<KindRun, 'outDir' | 'outputs' | 'metrics'>,
  ) {
    super(`${run.instance.id} ${run.instance.status}: ${run.instance.error ?? run.instance.reason ?? run.result.status}`);
  }
}

/** `params` is the stage's `with:`; the engine validates it (and applies defaults) against `kind.params`. */
export async function runKind<P>(kind: StageKind<P>, params: object, opts: KindRunOptions = {}): Promise<KindRun> {
  const workspace = opts.workspace ?? mkdtempSync(join(tmpdir(), 'pipe-kind-'));
  // JSON is YAML: params written as they are, no quoting rules to get wrong.
  writeFileSync(join(workspace, 'pipeline.yaml'), JSON.stringify({ stages: { [STAGE]: { uses: kind.kind, with: params } } }, null, 2));
  const { onLog } = opts;
  const result = await runPipeline({
    file: 'pipeline.yaml',
    workspace,
    kinds: { [kind.kind]: kind as StageKind<unknown> },
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.force ? { force: true } : {}),
    ...(onLog ? { verbose: true, reporter: { ...silentReporter, log: (_id: string, line: string) => onLog(line) } } : {}),
  });
  const instance = result.instances[0];
  const layout = new Layout(workspace);
  const logPath = result.run === null ? '' : layout.log(result.run, instance.id);
  const logs = existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').filter((l) => l !== '') : [];
  if (result.status !== 'succeeded' || !instance.outputs || !instance.key) throw new KindRunError({ workspace, result, instance, logs });
  const outputs = instance.outputs;
  return { workspace, result, instance, outDir: layout.store(instance.key), outputs, metrics: studyRows(readJsonl<MetricRow>(outputs.metrics)), logs };
}

/** The one resume directory an unfinished attempt left in `workspace` (runs/partial/<key>). */
export function partialDir(workspace: string): string {
  const root = new Layout(workspace).partial('');
  const keys = readdirSync(root);
  if (keys.length !== 1) throw new Error(`expected one directory in ${root}, found: ${keys.join(', ') || 'none'}`);
  return join(root, keys[0]);
}
