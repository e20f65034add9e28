// Matrix values and their labels. A matrix axis lists values of three forms, so that a pipeline can
// sweep over what a method section names (an ablation's set of captions, a dataset with its fields):
//   a scalar                          seed: [0, 1, 2]                         label "1"
//   a list of scalars                 captions: [[sc, ssc, ic], [sc, ic]]     label "sc+ic"
//   a map with a `name:`              dataset: [{ name: fi, classes: 8 }]     label "fi"
// The label is what instance ids show (`contrastive@captions=sc+ic,seed=3`) and what matches an
// instance with the upstream instances of a stage sharing the axis.
import type { Json } from '../stage-api.js';
import type { Scalar } from './types.js';

export type MatrixValue = Json;

const isScalar = (v: unknown): v is Scalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** Why `v` cannot be a matrix value, or undefined when it can. */
export function matrixValueProblem(v: Json): string | undefined {
  if (isScalar(v)) return undefined;
  if (Array.isArray(v)) return v.length && v.every(isScalar) ? undefined : 'a list value must be a non-empty list of strings, numbers or booleans';
  if (v && typeof v === 'object') return isScalar(v.name) && String(v.name) !== '' ? undefined : 'a map value needs a "name:" (a string or number): it names the value in instance ids';
  return 'null is not a matrix value';
}

/** The text of a value in an instance id. */
export function matrixLabel(v: MatrixValue): string {
  if (Array.isArray(v)) return v.map(String).join('+');
  if (v && typeof v === 'object') return String(v.name);
  return String(v);
}

export function instanceId(stage: string, matrix: Readonly<Record<string, MatrixValue>>): string {
  const parts = Object.entries(matrix).map(([k, v]) => `${k}=${matrixLabel(v)}`);
  return parts.length ? `${stage}@${parts.join(',')}` : stage;
}

export function cartesian(axes: [string, MatrixValue[]][]): Record<string, MatrixValue>[] {
  let out: Record<string, MatrixValue>[] = [{}];
  for (const [axis, values] of axes) out = out.flatMap((m) => values.map((v) => ({ ...m, [axis]: v })));
  return out;
}
