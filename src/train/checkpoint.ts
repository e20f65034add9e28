// On-disk form of a head and of a resumable training state. A head is a directory:
//   head.json                 architecture, taxonomy classes, head type, epoch, training choices
//   W1.npy b1.npy W2.npy b2.npy   float32 weights (numpy-loadable; Keras kernel layout [in, out])
// A resume checkpoint adds the Adam moments (m_*.npy, v_*.npy) and `state.json`. Every directory is
// written under a temporary name and renamed into place, so a killed writer never leaves a half head.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy, writeNpy } from '../io/npy.js';
import { dataError } from '../data/errors.js';
import { WEIGHT_NAMES, type CeOutput, type HeadType, type MlpDims } from './head-spec.js';

export const HEAD_FORMAT = 'pipe-clipe-head/1';

export interface HeadMeta {
  readonly format: typeof HEAD_FORMAT;
  readonly type: HeadType;
  /** CE heads: `softmax` (C units) or the authors' binary `sigmoid` (1 unit, p = P(classes[1])). */
  readonly ceOutput: CeOutput | null;
  readonly dims: MlpDims;
  /** Taxonomy the head was trained on and its classes in output order (CE) or its SC prompts' order. */
  readonly taxonomy: string;
  readonly classes: readonly string[];
  readonly taxonomySettings: Readonly<Record<string, string>>;
  /** 1-based epoch these weights come from. */
  readonly epoch: number;
  /** Training choices (loss, reduction, tau, captions, seed, ...), for provenance. */
  readonly training: Readonly<Record<string, string | number | boolean | readonly string[]>>;
}

export interface Head {
  readonly meta: HeadMeta;
  /** W1, b1, W2, b2. */
  readonly weights: readonly Float32Array[];
}

export function weightShapes(d: MlpDims): number[][] {
  return [[d.inputDim, d.hidden], [d.hidden], [d.hidden, d.outputDim], [d.outputDim]];
}

/** Writes `files` into `dir` atomically: a sibling temp directory, then one rename. */
export function writeDirAtomic(dir: string, write: (tmp: string) => void): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  write(tmp);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

export function writeHeadFiles(dir: string, head: Head): void {
  const shapes = weightShapes(head.meta.dims);
  WEIGHT_NAMES.forEach((n, k) => writeNpy(join(dir, `${n}.npy`), head.weights[k], shapes[k]));
  writeFileSync(join(dir, 'head.json'), JSON.stringify(head.meta, null, 2) + '\n');
}

export function saveHead(dir: string, head: Head): void {
  writeDirAtomic(dir, (tmp) => writeHeadFiles(tmp, head));
}

/** Loads a head directory written by `saveHead` (a training stage's `head` output or a checkpoint). */
export function loadHead(dir: string): Head {
  const metaFile = join(dir, 'head.json');
  if (!existsSync(metaFile)) throw dataError(dir, 'is not a head directory (no head.json)', 'Pass the `head` output of a train/* stage or one of its checkpoints/epoch-NN directories.');
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as HeadMeta;
  if (meta.format !== HEAD_FORMAT) throw dataError(metaFile, `format "${meta.format}" is not ${HEAD_FORMAT}`, 'Retrain the head with this version of pipe.');
  const shapes = weightShapes(meta.dims);
  const weights = WEIGHT_NAMES.map((n, k) => {
    const npy = readNpy(join(dir, `${n}.npy`));
    if (npy.dtype !== 'float32' || npy.shape.join() !== shapes[k].join()) {
      throw dataError(join(dir, `${n}.npy`), `expected float32 [${shapes[k]}], found ${npy.dtype} [${npy.shape}]`);
    }
    return npy.data as Float32Array;
  });
  return { meta, weights };
}

/** Everything needed to continue training after epoch `epoch` exactly as if never interrupted. */
export interface ResumeState<S> {
  readonly epoch: number;
  readonly adamStep: number;
  /** Trainer-level state (schedule, history, metric rows already emitted). */
  readonly state: S;
}

const epochDir = (root: string, epoch: number): string => join(root, `epoch-${String(epoch).padStart(3, '0')}`);

export function saveResume<S>(root: string, head: Head, m: readonly Float32Array[], v: readonly Float32Array[], r: ResumeState<S>): void {
  const shapes = weightShapes(head.meta.dims);
  mkdirSync(root, { recursive: true });
  writeDirAtomic(epochDir(root, r.epoch), (tmp) => {
    writeHeadFiles(tmp, head);
    WEIGHT_NAMES.forEach((n, k) => {
      writeNpy(join(tmp, `m_${n}.npy`), m[k], shapes[k]);
      writeNpy(join(tmp, `v_${n}.npy`), v[k], shapes[k]);
    });
    writeFileSync(join(tmp, 'state.json'), JSON.stringify(r));
  });
}

/** Epoch checkpoints present in `root`, oldest first (only fully renamed directories count). */
export function resumeEpochs(root: string): number[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((n) => /^epoch-(\d{3})$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

export interface LoadedResume<S> {
  readonly head: Head;
  readonly m: Float32Array[];
  readonly v: Float32Array[];
  readonly resume: ResumeState<S>;
}

export function loadResume<S>(root: string, epoch: number): LoadedResume<S> {
  const dir = epochDir(root, epoch);
  const head = loadHead(dir);
  const read = (name: string): Float32Array => readNpy(join(dir, name)).data as Float32Array;
  return {
    head,
    m: WEIGHT_NAMES.map((n) => read(`m_${n}.npy`)),
    v: WEIGHT_NAMES.map((n) => read(`v_${n}.npy`)),
    resume: JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as ResumeState<S>,
  };
}

export { epochDir };
