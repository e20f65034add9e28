// `${...}` references: typed whole-string values, text embedding, literals, and matrix matching.
import { describe, expect, it } from 'vitest';
import { InterpolationError, parseTemplate, resolveValue } from '../../src/pipeline/interpolate.js';
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
