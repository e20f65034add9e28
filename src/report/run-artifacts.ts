// What a recorded run produced, found through the results store: its trained heads, the CLIP model its
// embedding stages read, and the prompts a contrastive head was trained with. `pipe predict` uses these so
// that a prediction runs on exactly the artifacts of the run the user names.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { Json } from '../stage-api.js';
import type { Store } from '../store/index.js';
import { epochDir, type HeadMeta } from '../train/checkpoint.js';

export class RunArtifactError extends Error {
  override readonly name = 'RunArtifactError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

interface Recorded {
  readonly instanceId: string;
  readonly key: string;
  readonly kind: string;
  readonly params: { readonly [k: string]: Json };
  /** Content hash of each input, by the engine's label (`path:REL` or `INSTANCE:OUTPUT`). */
  readonly inputs: { readonly [label: string]: string };
  readonly artifacts: ReadonlyMap<string, string>;
  /** Content hash of each artifact, by name. */
  readonly hashes: ReadonlyMap<string, string>;
}

/** Every instance the run ran or restored, with its kind, keyed params and absolute artifact paths. */
export function recordedInstances(store: Store, workspace: string, runId: number): Recorded[] {
  if (!store.getRun(runId)) throw new RunArtifactError(`no run ${runId} in ${workspace}`, '`pipe runs` lists the recorded runs');
  const out: Recorded[] = [];
  for (const ri of store.runInstances(runId)) {
    if (ri.key === null || (ri.status !== 'ran' && ri.status !== 'cached')) continue;
    const c = store.getCommitted(ri.key);
    if (!c) continue;
    const comp = c.components as { code?: { kind?: string }; params?: { [k: string]: Json }; inputs?: { [label: string]: string } };
    out.push({
      instanceId: ri.instanceId,
      key: ri.key,
      kind: comp.code?.kind ?? '',
      params: comp.params ?? {},
      inputs: comp.inputs ?? {},
      artifacts: new Map(c.artifacts.map((a) => [a.name, resolve(workspace, a.path)])),
      hashes: new Map(c.artifacts.map((a) => [a.name, a.hash])),
    });
  }
  return out;
}

/**
 * The path a keyed param stands for: an upstream output (`artifact:INSTANCE:OUTPUT`, resolved through
 * the same run) or a workspace-relative path. Keys do not depend on upstream ids, so a result restored in
 * this run may have been built when its upstream had another id (a renamed stage): then the output of this
 * run with the content hash recorded for that label is the one it read.
 */
export function keyedPath(instances: readonly Recorded[], workspace: string, value: Json): string {
  if (typeof value !== 'string') throw new RunArtifactError(`expected a path in the run's recorded params, found ${JSON.stringify(value)}`);
  if (!value.startsWith('artifact:')) return isAbsolute(value) ? value : resolve(workspace, value);
  const label = value.slice('artifact:'.length);
  const cut = label.lastIndexOf(':');
  const [id, output] = [label.slice(0, cut), label.slice(cut + 1)];
  const hash = instances.map((i) => i.inputs[label]).find((h) => h !== undefined);
  const path =
    instances.find((i) => i.instanceId === id)?.artifacts.get(output) ??
    instances.find((i) => hash !== undefined && i.hashes.get(output) === hash)?.artifacts.get(output);
  if (!path) throw new RunArtifactError(`the run has no recorded output "${output}" of ${id}`, 'run the pipeline to completion, then predict');
  return path;
}

export interface RunHead {
  readonly instanceId: string;
  readonly dir: string;
  readonly meta: HeadMeta;
  /** The training instance's recorded params (prompt files of a contrastive head). */
  readonly params: { readonly [k: string]: Json };
  /** The instance's outputs: `head-final`, `head-best`, `checkpoints` (runs before head-final/-best lack them). */
  readonly artifacts: ReadonlyMap<string, string>;
}

/** The `head` outputs of the run's training instances. */
export function runHeads(instances: readonly Recorded[]): RunHead[] {
  return instances
    .filter((i) => i.artifacts.has('head'))
    .map((i) => {
      const dir = i.artifacts.get('head')!;
      return { instanceId: i.instanceId, dir, params: i.params, artifacts: i.artifacts, meta: JSON.parse(readFileSync(join(dir, 'head.json'), 'utf8')) as HeadMeta };
    });
}

/** Which weights of a trained head: the last epoch trained, the early-stopping best, or an epoch. */
export type WeightsChoice = 'final' | 'best' | number;

/** The folder of the chosen weights of a head (an epoch comes from its `checkpoints`). */
export function headWeightsDir(head: RunHead, weights: WeightsChoice): string {
  if (typeof weights === 'string') {
    const dir = head.artifacts.get(`head-${weights}`);
    if (!dir) throw new RunArtifactError(`${head.instanceId} has no head-${weights} output (trained before it was written)`, 're-run the pipeline (the training stage re-runs), or pass --weights EPOCH');
    return dir;
  }
  const checkpoints = head.artifacts.get('checkpoints');
  const epochs = checkpoints && existsSync(checkpoints) ? readdirSync(checkpoints).filter((d) => /^epoch-\d+$/.test(d)).map((d) => Number(d.slice(6))).sort((a, b) => a - b) : [];
  if (!epochs.includes(weights)) throw new RunArtifactError(`${head.instanceId} has no checkpoint of epoch ${weights}`, `its epochs: ${epochs.join(', ') || 'none'}`);
  return epochDir(checkpoints!, weights);
}

/** The CLIP model folder and ONNX variant the run embedded its images with, and the folder's content hash. */
export function runModel(instances: readonly Recorded[], workspace: string): { dir: string; dtype: string; hash?: string } {
  const embed = instances.find((i) => i.kind === 'clip/embed-images');
  if (!embed) throw new RunArtifactError('the run has no clip/embed-images instance: no model to embed images with', 'pass --model DIR');
  const keyed = embed.params.model;
  const label = typeof keyed === 'string' ? (keyed.startsWith('artifact:') ? keyed.slice('artifact:'.length) : `path:${keyed}`) : '';
  return {
    dir: keyedPath(instances, workspace, keyed),
    dtype: typeof embed.params.dtype === 'string' ? embed.params.dtype : 'fp32',
    hash: embed.inputs[label],
  };
}
