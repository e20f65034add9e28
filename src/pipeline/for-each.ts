// `{ for_each: { AXIS: VALUES, ... }, item: VALUE }` as a value in `with:`, `run:` or `env:`: a list with
// one resolved `item` per point of the axes' cartesian product, each resolved as if the stage's matrix
// also had those axes. A stage without a `dataset` axis can so write "for each dataset, these outputs"
// once, and `${stages.S.outputs.O}` inside the item selects the instance of S with that dataset, as a
// reference from a stage with the axis would:
//   eval_sets: { for_each: { dataset: "${params.datasets}" }, item: { manifest: "${stages.ingest.outputs.manifest}" } }
import type { Json } from '../stage-api.js';
import { InterpolationError } from './interpolate.js';
import { cartesian, matrixValueProblem, type MatrixValue } from './matrix.js';

export interface ForEach {
  /** Axis name -> its values (a list, or a reference to a param holding one). */
  readonly for_each: { readonly [axis: string]: Json };
  readonly item: Json;
}

/** `v` as a for_each value: a map whose keys are exactly `for_each` (a map of axes) and `item`. */
export function forEachOf(v: Json | undefined): ForEach | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v) || !('for_each' in v)) return undefined;
  const keys = Object.keys(v);
  const axes = v.for_each;
  if (keys.length !== 2 || !('item' in v) || !axes || typeof axes !== 'object' || Array.isArray(axes) || !Object.keys(axes).length)
    throw new InterpolationError(
      `for_each needs exactly two keys, for_each (a map of axes, e.g. { dataset: [a, b] }) and item; found ${keys.join(', ')}`,
      'write { for_each: { AXIS: [values] }, item: VALUE } (docs/pipeline-format.md, "Lists per matrix value")',
    );
  return v as unknown as ForEach;
}

/**
 * The points of a for_each whose axis values are resolved (`resolved`: axis -> list). An axis of the
 * stage's own matrix cannot be repeated: the item would not know which value it means.
 */
export function forEachPoints(resolved: Json, stageAxes: readonly string[]): Record<string, MatrixValue>[] {
  const axes: [string, MatrixValue[]][] = [];
  for (const [axis, values] of Object.entries(resolved as { [axis: string]: Json })) {
    if (stageAxes.includes(axis))
      throw new InterpolationError(`for_each axis "${axis}" is already a matrix axis of the stage`, `rename the for_each axis, or reference \${matrix.${axis}} directly`);
    if (!Array.isArray(values) || !values.length)
      throw new InterpolationError(`for_each axis "${axis}" must be a non-empty list of values, got ${JSON.stringify(values)}`, 'list the values, or reference a param holding a list');
    values.forEach((v, i) => {
      const problem = matrixValueProblem(v);
      if (problem) throw new InterpolationError(`for_each axis "${axis}" value [${i}]: ${problem}`, 'values are scalars, lists of scalars, or maps with a name:');
    });
    axes.push([axis, values]);
  }
  return cartesian(axes);
}

/** The for_each axes in scope at `path` inside `value` (the items it lies in), for checking references. */
export function forEachAxesAt(value: Json | undefined, path: readonly (string | number)[]): string[] {
  const out: string[] = [];
  let node = value;
  for (const k of path) {
    if (node === null || node === undefined || typeof node !== 'object') break;
    let each: ForEach | undefined;
    try {
      each = forEachOf(node);
    } catch {
      each = undefined; // reported where it is resolved
    }
    if (each && k === 'item') out.push(...Object.keys(each.for_each));
    node = Array.isArray(node) ? node[k as number] : (node as { [k: string]: Json })[k];
  }
  return out;
}
