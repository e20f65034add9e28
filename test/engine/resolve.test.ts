// Resolution of references per instance (src/pipeline/resolve.ts), in the test process on a loaded
// pipeline: what each kind of reference turns into, how a reference to a matrix stage selects its
// instances, shell lines quoted word by word, and every error's words. The engine's tests (keys, runner)
// show the same through whole runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InterpolationError } from '../../src/pipeline/interpolate.js';
import { commandResources, depEntries, envValue, matchUpstream, paramValue, quotedShellRefs } from '../../src/pipeline/resolve.js';
import type { Pipeline } from '../../src/pipeline/types.js';
import type { Json } from '../../src/stage-api.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';
import { loader, resolveFor, shellFor, testKind } from '../support/load.js';

let ws: TempWorkspace;
let p: Pipeline;

const KIND = testKind('test/model');

const PIPELINE = `
params: { n: 3, s: "a b", list: [1, "x y", true], m: { k: { j: 2 }, l: [1] }, none: null }
stages:
  up:
    matrix: { ds: [a, b], seed: [1, 0] }
    run: [touch, "\${outs.o}", "\${outs.p}"]
    outs: { o: o.txt, p: p.txt }
  one:
    run: [touch, "\${outs.o}"]
    outs: { o: o.txt }
  model:
    uses: test/model
  down:
    matrix: { ds: [a, b], v: [{ name: o, k: p, deep: { x: 1 } }, [x, y], 3, { name: 4, z: null }] }
    run: [echo]
    deps: { d: "data/\${matrix.ds}.csv" }
    resources: { cpu: 2, memory_mb: 512 }
    needs: [up, one, model]
`;

beforeAll(async () => {
  ws = tempWorkspace();
  p = await loader(() => ws, { 'test/model': KIND }).ok(PIPELINE);
});
afterAll(() => ws.cleanup());

/** The error resolving `value` for `id` throws: message and hint. */
function fails(fn: () => unknown): { message: string; hint: string | undefined } {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof InterpolationError)) throw e;
    return { message: e.message, hint: e.hint };
  }
  throw new Error('expected an InterpolationError');
}

const D = 'down@ds=a,v=o';

describe('resolveInstance', () => {
  it('params: whole values, keys of maps, typed when the string is the reference alone', () => {
    expect(resolveFor(p, D, '${params.n}')).toBe(3);
    expect(resolveFor(p, D, 'n=${params.n}')).toBe('n=3');
    expect(resolveFor(p, D, '${params.m.k.j}')).toBe(2);
    expect(resolveFor(p, D, '${params.m.k}')).toEqual({ j: 2 });
    expect(resolveFor(p, D, '${params.none}')).toBeNull();
    expect(resolveFor(p, D, ['${params.s}', { a: '${params.list}' }, 7, null, true])).toEqual(['a b', { a: [1, 'x y', true] }, 7, null, true]);
  });

  it('params: unknown names and keys', () => {
    expect(fails(() => resolveFor(p, D, '${params.nope}'))).toEqual({ message: 'unknown param "nope"', hint: 'declare it under params: (declared: n, s, list, m, none)' });
    expect(fails(() => paramValue({}, 'x', []))).toEqual({ message: 'unknown param "x"', hint: 'declare it under params: (declared: none)' });
    const noKey = (path: string) => ({ message: `param "m" has no key "${path}"`, hint: 'check the spelling against the params block' });
    expect(fails(() => resolveFor(p, D, '${params.m.nope}'))).toEqual(noKey('nope'));
    expect(fails(() => resolveFor(p, D, '${params.m.k.j.x}'))).toEqual(noKey('k.j.x'));
    expect(fails(() => resolveFor(p, D, '${params.m.l.0}'))).toEqual(noKey('l.0'));
    expect(fails(() => paramValue({ m: null }, 'm', ['a'])).message).toBe('param "m" has no key "a"');
    expect(paramValue({ m: { a: { b: false } } }, 'm', ['a', 'b'])).toBe(false);
  });

  it('matrix: a value, its label as .name, a key of a map value', () => {
    expect(resolveFor(p, D, '${matrix.ds}')).toBe('a');
    expect(resolveFor(p, D, '${matrix.v}')).toEqual({ name: 'o', k: 'p', deep: { x: 1 } });
    expect(resolveFor(p, D, '${matrix.v.k}/${matrix.v.name}')).toBe('p/o');
    expect(resolveFor(p, D, '${matrix.v.deep.x}')).toBe(1);
    expect(resolveFor(p, 'down@ds=b,v=x+y', '${matrix.v.name}')).toBe('x+y');
    expect(resolveFor(p, 'down@ds=b,v=x+y', '${matrix.v}')).toEqual(['x', 'y']);
    expect(resolveFor(p, 'down@ds=b,v=3', '${matrix.v.name}')).toBe('3');
    // A map's name is its field as written (a number stays a number).
    expect(resolveFor(p, 'down@ds=a,v=4', '${matrix.v.name}')).toBe(4);
    expect(fails(() => resolveFor(p, 'down@ds=a,v=4', '${matrix.v.z.x}')).message).toBe('${matrix.v.z.x}: the matrix value {"name":4,"z":null} has no key "z.x"');
    const noKey = (v: string, path: string) => ({ message: `\${matrix.v.${path}}: the matrix value ${v} has no key "${path}"`, hint: 'give every value of the axis that key, or reference the axis itself' });
    expect(fails(() => resolveFor(p, D, '${matrix.v.nope}'))).toEqual(noKey('{"name":"o","k":"p","deep":{"x":1}}', 'nope'));
    expect(fails(() => resolveFor(p, D, '${matrix.v.k.x}'))).toEqual(noKey('{"name":"o","k":"p","deep":{"x":1}}', 'k.x'));
    expect(fails(() => resolveFor(p, 'down@ds=b,v=3', '${matrix.v.k}'))).toEqual(noKey('3', 'k'));
    expect(fails(() => resolveFor(p, 'down@ds=b,v=x+y', '${matrix.v.name.x}'))).toEqual(noKey('["x","y"]', 'name.x'));
    expect(fails(() => resolveFor(p, D, '${matrix.nope}'))).toEqual({ message: '${matrix.nope}: stage "down" has no matrix axis "nope"', hint: 'add the axis under matrix:' });
  });

  it('env: the value, the fallback when unset or empty, else an error saying how to set it', () => {
    expect(resolveFor(p, D, '${env.A}-${env.B:-dflt}', undefined, { A: 'x', B: 'y' })).toBe('x-y');
    expect(resolveFor(p, D, '${env.B:-dflt}', undefined, { B: '' })).toBe('dflt');
    expect(resolveFor(p, D, '${env.B:-}', undefined, {})).toBe('');
    expect(fails(() => envValue({ A: '' }, 'A', undefined))).toEqual({
      message: 'environment variable A is not set',
      hint: 'export A=..., or write ${env.A:-default}',
    });
    // A param's value may come from --set instead; a stage's own ${env...} has no such way round.
    expect(fails(() => envValue({}, 'A', undefined, 'root'))).toEqual({
      message: 'environment variable A is not set',
      hint: 'export A=..., or write ${env.A:-default}, or give the param on the command line: --set root=...',
    });
  });

  it('stages: the instance sharing the matrix point, a list where axes stay open, an instance named by its values', () => {
    expect(resolveFor(p, D, '${stages.one.outputs.o}')).toBe('one:o');
    expect(resolveFor(p, D, '${stages.model.outputs.model}')).toBe('model:model');
    // down has ds but not seed: the instances of up with ds=a, in id order.
    expect(resolveFor(p, D, '${stages.up.outputs.o}')).toEqual(['up@ds=a,seed=0:o', 'up@ds=a,seed=1:o']);
    expect(resolveFor(p, D, '${stages.up@seed=1.outputs.p}')).toBe('up@ds=a,seed=1:p');
    expect(resolveFor(p, D, '${stages.up@ds=b,seed=0.outputs.o}')).toBe('up@ds=b,seed=0:o');
    expect(resolveFor(p, 'one', '${stages.up.outputs.o}')).toEqual(['up@ds=a,seed=0:o', 'up@ds=a,seed=1:o', 'up@ds=b,seed=0:o', 'up@ds=b,seed=1:o']);
    expect(fails(() => resolveFor(p, D, '${stages.up@seed=7.outputs.o}'))).toEqual({ message: '${stages.up@seed=7.outputs.o}: no instance of "up" matches down@ds=a,v=o', hint: 'align the matrix values of both stages' });
    expect(fails(() => resolveFor(p, D, '${stages.nope.outputs.o}')).message).toBe('${stages.nope.outputs.o}: no instance of "nope" matches down@ds=a,v=o');
  });

  it('stages: an output named by a matrix value', () => {
    expect(resolveFor(p, D, '${stages.up.outputs[matrix.v.k]}')).toEqual(['up@ds=a,seed=0:p', 'up@ds=a,seed=1:p']);
    expect(resolveFor(p, D, '${stages.one.outputs[matrix.v]}')).toBe('one:o');
    expect(resolveFor(p, D, '${stages.one.outputs[matrix.v.name]}')).toBe('one:o');
    expect(fails(() => resolveFor(p, D, '${stages.up.outputs[matrix.v.deep]}'))).toEqual({ message: '${stages.up.outputs[matrix.v.deep]}: {"x":1} is not an output of "up"', hint: 'its outputs: o, p' });
    expect(fails(() => resolveFor(p, 'down@ds=b,v=3', '${stages.one.outputs[matrix.v]}'))).toEqual({ message: '${stages.one.outputs[matrix.v]}: "3" is not an output of "one"', hint: 'its outputs: o' });
    expect(fails(() => resolveFor(p, D, '${stages.model.outputs[matrix.ds]}'))).toEqual({ message: '${stages.model.outputs[matrix.ds]}: "a" is not an output of "model"', hint: 'its outputs: model, metrics' });
    expect(fails(() => resolveFor(p, D, '${stages.one.outputs[matrix.nope]}'))).toEqual({ message: '${stages.one.outputs[matrix.nope]}: stage "down" has no matrix axis "nope"', hint: 'add the axis under matrix:' });
  });

  it('outs, deps, resources and group, each where it exists', () => {
    expect(resolveFor(p, D, '${outs.o}')).toBe('outs:o');
    expect(resolveFor(p, D, '${deps.d}')).toBe('data/a.csv');
    expect(resolveFor(p, 'down@ds=b,v=3', '${deps.d}')).toBe('data/b.csv');
    expect(resolveFor(p, D, '${resources.cpu}/${resources.gpu}/${resources.memory_mb}')).toBe('2/0/512');
    expect(resolveFor(p, 'one', '${resources.cpu}/${resources.gpu}/${resources.memory_mb}')).toBe('1/0/0');
    expect(resolveFor(p, D, '${group.members}')).toBe('group');
    expect(fails(() => resolveFor(p, D, '${deps.nope}'))).toEqual({ message: '${deps.nope}: stage "down" has no dep named "nope"', hint: 'name it in the map form, deps: { NAME: path }' });
    const output = { output: () => 'x' };
    expect(fails(() => resolveFor(p, D, '${outs.o}', output))).toEqual({ message: '${outs.o}: ${outs...} is only available in command stages', hint: 'use it in run:, env: or deps: of a stage with outs:' });
    expect(fails(() => resolveFor(p, D, '${group.members}', output))).toEqual({ message: '${group.members} is only available in run: and env: of a command stage with group_by:', hint: 'add group_by: [AXIS] to the stage' });
  });
});

describe('resolveShellCommand', () => {
  it('enters each value as quoted words: a list one word per element, non-strings as JSON', () => {
    expect(shellFor(p, D, 'echo ${params.s} ${params.list} ${params.n} $HOME ${matrix.ds}')).toBe("echo 'a b' 1 'x y' true 3 $HOME a");
    expect(shellFor(p, D, 'cat ${stages.up.outputs.o}')).toBe(String.raw`cat up\@ds\=a\,seed\=0\:o up\@ds\=a\,seed\=1\:o`);
    expect(shellFor(p, D, "echo ${params.m.k.j} '$x' ${params.none}")).toBe("echo 2 '$x' null");
  });

  it('leaves ${outs...} and ${group.members} as the lookup gives them (the runner quotes the path)', () => {
    expect(shellFor(p, D, 'sort > ${outs.o} < ${group.members}', { output: () => 'x', outs: (n) => `'/o dir/${n}'`, group: () => "'/g'" })).toBe("sort > '/o dir/o' < '/g'");
  });

  it('refuses a map', () => {
    expect(fails(() => shellFor(p, D, 'echo ${params.m}'))).toEqual({ message: '${params.m} is a map and cannot be embedded in a shell command', hint: 'reference one of its values instead' });
  });
});

describe('quotedShellRefs', () => {
  it('finds references inside single or double quotes, not outside, not escaped ones', () => {
    expect(quotedShellRefs('echo ${a} "${b}" \'${c}\' "x ${d} y" ${e}')).toEqual(['${b}', '${c}', '${d}']);
    expect(quotedShellRefs('echo "it\'s ${a}" \'say "${b}"\' ${c}')).toEqual(['${a}', '${b}']);
    expect(quotedShellRefs('echo \\" ${a} \\\' ${b}')).toEqual([]);
    expect(quotedShellRefs('echo "\\" ${a}"')).toEqual(['${a}']);
    expect(quotedShellRefs('echo "$${a}" \'$${b}\' ${c}')).toEqual([]);
    expect(quotedShellRefs('echo "${a')).toEqual(['${a']);
    expect(quotedShellRefs("echo '\\' ${a}")).toEqual([]);
    expect(quotedShellRefs("echo 'x y ${a}' ${b}")).toEqual(['${a}']);
    expect(quotedShellRefs('')).toEqual([]);
  });
});

describe('helpers', () => {
  it('matchUpstream: instances agreeing on the shared axes, in id order; pinned when that fixes them all', () => {
    const ids = (r: { instances: { id: string }[]; pinned: boolean }) => [r.instances.map((i) => i.id), r.pinned];
    expect(ids(matchUpstream(p.byStage, { ds: 'b' }, 'up'))).toEqual([['up@ds=b,seed=0', 'up@ds=b,seed=1'], false]);
    expect(ids(matchUpstream(p.byStage, { ds: 'b', seed: 0, x: 1 }, 'up'))).toEqual([['up@ds=b,seed=0'], true]);
    expect(ids(matchUpstream(p.byStage, { ds: 'c', seed: 0 }, 'up'))).toEqual([[], true]);
    expect(ids(matchUpstream(p.byStage, {}, 'one'))).toEqual([['one'], true]);
    expect(ids(matchUpstream(p.byStage, {}, 'nope'))).toEqual([[], true]);
    expect(ids(matchUpstream(p.byStage, { v: ['x', 'y'] }, 'down'))).toEqual([['down@ds=a,v=x+y', 'down@ds=b,v=x+y'], false]);
  });

  it('depEntries: list and map forms; commandResources: the defaults', () => {
    expect(depEntries({ deps: ['a', 'b'] })).toEqual([
      { at: 0, path: 'a' },
      { at: 1, path: 'b' },
    ]);
    expect(depEntries({ deps: { x: 'a' } })).toEqual([{ name: 'x', at: 'x', path: 'a' }]);
    expect(depEntries({})).toEqual([]);
    expect(commandResources({})).toEqual({ cpu: 1, gpu: 0, memory_mb: 0 });
    expect(commandResources({ resources: { gpu: 1 } })).toEqual({ cpu: 1, gpu: 1, memory_mb: 0 });
  });

  it('a for_each resolves its axes first, then each item', () => {
    const v: Json = { for_each: { s: '${params.list}' }, item: '${matrix.s}-${matrix.ds}' };
    expect(resolveFor(p, D, v)).toEqual(['1-a', 'x y-a', 'true-a']);
  });
});
