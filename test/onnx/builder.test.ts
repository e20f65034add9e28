import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, float, modelBytes } from '../../src/onnx/builder.js';

describe('GraphBuilder', () => {
  it('builds a Gemm + Relu graph that onnxruntime runs with the expected numbers', async () => {
    const g = new GraphBuilder('mlp');
    const x = g.input('x', 'float32', ['batch', 2]);
    const w = g.initializer('w', Float32Array.of(1, -1, 2, 0.5), [2, 2]);
    const b = g.initializer('b', Float32Array.of(0.5, -3), [2]);
    const y = g.op('Gemm', [x, w, b], { alpha: float(2) });
    const r = g.op('Relu', [y], {}, 'y');
    g.output(r, 'float32', ['batch', 2]);
    const session = await ort.InferenceSession.create(modelBytes(g));
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, -1, 0), [2, 2]) });
    // row 1: 2*[1*1+2*2, 1*-1+2*0.5] + b = [10.5, -3] -> relu [10.5, 0]; row 2: 2*[-1, 1] + b = [-1.5, -1] -> [0, 0]
    expect(Array.from(out.y.data as Float32Array)).toEqual([10.5, 0, 0, 0]);
  });

  it('runs a Loop whose body carries state across iterations', async () => {
    const body = new GraphBuilder('body');
    body.input('iter', 'int64', []);
    body.input('cond_in', 'bool', []);
    const acc = body.input('acc_in');
    const cond = body.op('Identity', ['cond_in'], {}, 'cond_out');
    const next = body.op('Add', [acc, body.scalar(1)], {}, 'acc_out');
    body.output(cond, 'bool', []);
    body.output(next, 'float32', []);

    const g = new GraphBuilder('loop');
    const trip = g.input('trip', 'int64', []);
    const start = g.input('start', 'float32', []);
    const [final] = g.opN('Loop', [trip, '', start], ['final'], { body: { graph: body } });
    g.output(final, 'float32', []);
    const session = await ort.InferenceSession.create(modelBytes(g));
    const out = await session.run({
      trip: new ort.Tensor('int64', BigInt64Array.of(5n), []),
      start: new ort.Tensor('float32', Float32Array.of(1.5), []),
    });
    expect(out.final.data[0]).toBe(6.5);
  });

  it('rejects a value name used twice and non-integer int attributes', () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', [1]);
    expect(() => g.input('x', 'float32', [1])).toThrow(/used twice/);
    expect(() => g.op('LeakyRelu', ['x'], { alpha: 0.1 })).toThrow(/float\(\)/);
  });
});
