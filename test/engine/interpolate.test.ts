// `${...}` references: typed whole-string values, text embedding, literals, and matrix matching.
import { describe, expect, it } from 'vitest';
import { collectRefs, InterpolationError, parseTemplate, resolveValue } from '../../src/pipeline/interpolate.js';
import type { Json } from '../../src/stage-api.js';

const values: Record<string, Json> = { 'params.seeds': [0, 1], 'params.lr': 0.1, 'matrix.t': 'webemo6' };
const lookup = (_: unknown, raw: string): Json => values[raw.slice(2, -1)] ?? null;

describe('interpolation', () => {
  it('keeps the type of a whole-string reference and stringifies embedded ones', () => {
    expect(resolveValue('${params.seeds}', lookup)).toEqual([0, 1]);
    expect(resolveValue('${params.lr}', lookup)).toBe(0.1);
    expect(resolveValue('lr=${params.lr}/${matrix.t}', lookup)).toBe('lr=0.1/webemo6');
    expect(resolveValue({ a: ['${matrix.t}', 3] }, lookup)).toEqual({ a: ['webemo6', 3] });
  });

  it('treats $${ as a literal and rejects a list inside a longer string', () => {
    expect(resolveValue('cost: $${HOME} ${matrix.t}', lookup)).toBe('cost: ${HOME} webemo6');
    expect(() => resolveValue('x${params.seeds}', lookup)).toThrow(InterpolationError);
  });

  it('parses every reference form and names the forms on a bad one', () => {
    expect(parseTemplate('${env.HOME:-/tmp}')).toEqual([{ ref: { root: 'env', name: 'HOME', fallback: '/tmp' }, raw: '${env.HOME:-/tmp}' }]);
    expect(parseTemplate('${stages.embed-webemo.outputs.embeddings}')).toEqual([
      { ref: { root: 'stages', stage: 'embed-webemo', output: 'embeddings' }, raw: '${stages.embed-webemo.outputs.embeddings}' },
    ]);
    // One instance by its matrix values (as in its id; a value may hold dots), an output named by a matrix value.
    expect(parseTemplate('${stages.train@lr=0.1,seed=3.outputs.model}')[0]).toMatchObject({ ref: { stage: 'train', output: 'model', pins: { lr: '0.1', seed: '3' } } });
    expect(parseTemplate('${stages.data.outputs[matrix.dataset.name]}')[0]).toMatchObject({ ref: { stage: 'data', outputFrom: { axis: 'dataset', path: ['name'] } } });
    expect(() => parseTemplate('${stages.train@seed.outputs.model}')).toThrow(/bad instance "seed"/);
    expect(parseTemplate('${params.cfg.lr}')).toEqual([{ ref: { root: 'params', name: 'cfg', path: ['lr'] }, raw: '${params.cfg.lr}' }]);
    expect(() => parseTemplate('${stage.x}')).toThrow(/bad reference "\$\{stage\.x\}"/);
    expect(() => parseTemplate('${params.x')).toThrow(/unclosed/);
  });
});

describe('parsing a reference', () => {
  const ref = (s: string) => {
    const segs = parseTemplate(s);
    expect(segs).toHaveLength(1);
    return (segs[0] as { ref: unknown }).ref;
  };
  const bad = (s: string) => {
    try {
      parseTemplate(s);
    } catch (e) {
      if (!(e instanceof InterpolationError)) throw e;
      return { name: e.name, message: e.message, hint: e.hint };
    }
    throw new Error(`${s} parsed`);
  };

  it('reads each form, its names, paths, fallback, pins and output forms exactly', () => {
    expect(ref('${params.a-b}')).toStrictEqual({ root: 'params', name: 'a-b', path: [] });
    expect(ref('${ params.a.bc.d }')).toStrictEqual({ root: 'params', name: 'a', path: ['bc', 'd'] });
    expect(ref('${matrix.ab}')).toStrictEqual({ root: 'matrix', axis: 'ab', path: [] });
    expect(ref('${matrix.a.bc.de}')).toStrictEqual({ root: 'matrix', axis: 'a', path: ['bc', 'de'] });
    expect(ref('${env.A_1}')).toStrictEqual({ root: 'env', name: 'A_1' });
    expect(ref('${env.A:-}')).toStrictEqual({ root: 'env', name: 'A', fallback: '' });
    expect(ref('${env.A:-x:-y z}')).toStrictEqual({ root: 'env', name: 'A', fallback: 'x:-y z' });
    expect(ref('${stages.s-1.outputs.ab}')).toStrictEqual({ root: 'stages', stage: 's-1', output: 'ab' });
    expect(ref('${stages.s@a=1,b=x y.outputs.o}')).toStrictEqual({ root: 'stages', stage: 's', output: 'o', pins: { a: '1', b: 'x y' } });
    expect(ref('${stages.s.outputs[matrix.ab]}')).toStrictEqual({ root: 'stages', stage: 's', output: '[matrix.ab]', outputFrom: { axis: 'ab', path: [] } });
    expect(ref('${stages.s.outputs[matrix.a.bc.d]}')).toStrictEqual({ root: 'stages', stage: 's', output: '[matrix.a.bc.d]', outputFrom: { axis: 'a', path: ['bc', 'd'] } });
    expect(ref('${outs.ab}')).toStrictEqual({ root: 'outs', name: 'ab' });
    expect(ref('${deps.a-b}')).toStrictEqual({ root: 'deps', name: 'a-b' });
    expect(ref('${resources.memory_mb}')).toStrictEqual({ root: 'resources', name: 'memory_mb' });
    expect(ref('${group.members}')).toStrictEqual({ root: 'group', name: 'members' });
  });

  it('refuses near misses, naming the forms', () => {
    const FORMS =
      'write one of ${params.NAME, matrix.AXIS, matrix.AXIS.KEY, env.NAME, env.NAME:-default, stages.STAGE.outputs.OUTPUT, stages.STAGE@AXIS=VALUE.outputs.OUTPUT, stages.STAGE.outputs[matrix.AXIS.KEY], outs.OUTPUT, deps.NAME, resources.cpu|gpu|memory_mb or group.members}';
    for (const body of ['xparams.a', 'params.a!', 'xmatrix.a', 'matrix.a!', 'xenv.A', 'env.A!', 'xstages.s.outputs.o', 'stages.s.outputs.o!', 'stages.s.outputs[matrix.a]!', 'xouts.o', 'outs.o!', 'xdeps.d', 'deps.d!', 'xresources.cpu', 'resources.cpux', 'group.membersx', 'group', ''])
      expect(bad(`\${${body}}`)).toEqual({ name: 'InterpolationError', message: `bad reference "\${${body}}"`, hint: FORMS });
    const PIN_HINT = 'write the matrix values as in its id: ${stages.STAGE@AXIS=VALUE,AXIS=VALUE.outputs.OUTPUT}';
    expect(bad('${stages.s@=1.outputs.o}')).toEqual({ name: 'InterpolationError', message: 'bad instance "=1" in "${stages.s@=1.outputs.o}"', hint: PIN_HINT });
    expect(bad('${stages.s@a=.outputs.o}').message).toBe('bad instance "a=" in "${stages.s@a=.outputs.o}"');
    expect(bad('${stages.s@a.outputs.o}').message).toBe('bad instance "a" in "${stages.s@a.outputs.o}"');
    expect(ref('${stages.s@a==.outputs.o}')).toStrictEqual({ root: 'stages', stage: 's', output: 'o', pins: { a: '=' } });
    expect(bad('a ${params.x')).toEqual({ name: 'InterpolationError', message: 'unclosed "${" in "a ${params.x"', hint: 'close the reference with "}" (write "$${" for a literal "${")' });
  });

  it('splits text and references; an empty string is one empty text', () => {
    expect(parseTemplate('')).toEqual([{ text: '' }]);
    expect(parseTemplate('a${outs.o}b')).toEqual([{ text: 'a' }, { ref: { root: 'outs', name: 'o' }, raw: '${outs.o}' }, { text: 'b' }]);
  });

  it('collects references with where they are, and the syntax errors apart', () => {
    const { refs, errors } = collectRefs({ a: ['x', '${outs.o}', 3, null, { b: 'y${deps.d}' }], c: '${bad', d: '${params.x' } as Json, ['stages', 's']);
    expect(refs).toEqual([
      { ref: { root: 'outs', name: 'o' }, path: ['stages', 's', 'a', 1] },
      { ref: { root: 'deps', name: 'd' }, path: ['stages', 's', 'a', 4, 'b'] },
    ]);
    expect(errors.map((e) => [e.error.message, e.path])).toEqual([
      ['unclosed "${" in "${bad"', ['stages', 's', 'c']],
      ['unclosed "${" in "${params.x"', ['stages', 's', 'd']],
    ]);
  });

  it('says what kind of value cannot be embedded in a longer string', () => {
    const HINT = 'make the string exactly the reference to pass the value itself';
    const embed = (v: Json) => {
      try {
        resolveValue('x=${params.v}', () => v);
      } catch (e) {
        if (!(e instanceof InterpolationError)) throw e;
        return [e.message, e.hint];
      }
      return undefined;
    };
    expect(embed([1])).toEqual(['${params.v} is a list and cannot be embedded in a longer string', HINT]);
    expect(embed(null)).toEqual(['${params.v} is a null and cannot be embedded in a longer string', HINT]);
    expect(embed({ a: 1 })).toEqual(['${params.v} is a map and cannot be embedded in a longer string', HINT]);
    expect(resolveValue('x=${params.v}', () => false)).toBe('x=false');
  });
});
