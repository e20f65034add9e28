// Runs a stage kind the way the engine does: params validated (with defaults) against the kind's JSON
// Schema by ajv, a private output directory, a resume directory that outlives the attempt, metric rows
// collected. Lets the training tests exercise the stage contract before and apart from the CLI.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import type { MetricRow, StageContext, StageKind } from '../../src/stage-api.js';

export interface StageRun {
  readonly outDir: string;
  readonly metrics: MetricRow[];
  readonly logs: string[];
}

export async function runStage<P>(kind: StageKind<P>, params: Record<string, unknown>, opts: { resumeDir?: string; signal?: AbortSignal; onLog?: (line: string) => void } = {}): Promise<StageRun> {
  const ajv = new Ajv2020.default({ allErrors: true, strict: false, useDefaults: true });
  ajv.addFormat('path', true);
  const validate = ajv.compile(kind.params);
  const p = structuredClone(params);
  if (!validate(p)) throw new Error(`params of ${kind.kind}: ${ajv.errorsText(validate.errors)}`);
  const outDir = mkdtempSync(join(tmpdir(), 'pipe-stage-out-'));
  const resumeDir = opts.resumeDir ?? mkdtempSync(join(tmpdir(), 'pipe-stage-resume-'));
  mkdirSync(resumeDir, { recursive: true });
  const metrics: MetricRow[] = [];
  const logs: string[] = [];
  const ctx: StageContext<P> = {
    params: p as P,
    matrix: {},
    instanceId: kind.kind,
    run: { id: 0, pipelineFile: '(test harness)', pipelineHash: '', codeVersion: 'test' },
    workspace: outDir,
    output: (name) => join(outDir, kind.outputs[name].path),
    resumeDir,
    kindCacheDir: join(outDir, '.kind-cache'),
    signal: opts.signal ?? new AbortController().signal,
    log: (l) => {
      logs.push(l);
      opts.onLog?.(l);
    },
    progress: () => {},
    metric: (r) => metrics.push(r),
    hashFiles: async () => [],
  };
  await kind.run(ctx);
  return { outDir, metrics, logs };
}
