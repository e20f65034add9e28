// A matrix axis from file names (src/pipeline/glob-axis.ts) over real files: which paths match, the value
// each gives, hidden files, repeated wildcards, absolute patterns, and the errors with their hints.
// inputs.test.ts shows a glob axis through `pipe run`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GlobAxisError, globAxisValues } from '../../src/pipeline/glob-axis.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';
import { loader } from '../support/load.js';

let ws: TempWorkspace;
beforeAll(() => {
  ws = tempWorkspace();
  const files = [
    'data/b.fastq', 'data/a.fastq', 'data/a-1.fastq', 'data/.hidden.fastq', 'data/c.txt', 'data/sub/d.fastq', 'data/x.(1).fastq', 'data/xx1.fastq',
    'samples/s1/s1_R1.fq', 'samples/s1/s1_R2.fq', 'samples/s2/s2_R1.fq', 'samples/s3/other_R1.fq', 'samples/file',
    'pairs/a_a.pair', 'pairs/a_b.pair', 'dots/.x.rc', 'dots/y.rc', 'flat/f',
  ];
  for (const f of files) ws.write(f, '');
});
afterAll(() => ws.cleanup());

const values = (pattern: string) => globAxisValues(pattern, 's', ws.dir);

function thrown(fn: () => unknown): { name: string; message: string; hint: string } {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof GlobAxisError)) throw e;
    return { name: e.name, message: e.message, hint: e.hint };
  }
  throw new Error('expected a GlobAxisError');
}

describe('globAxisValues', () => {
  it('gives the sorted, distinct values of the wildcard over the files that exist', () => {
    // a-1 comes before a in the directory (- sorts before .); the values are sorted as values.
    expect(values('data/{s}.fastq')).toEqual(['a', 'a-1', 'b', 'x.(1)', 'xx1']);
    expect(values('data/{s}.(1).fastq')).toEqual(['x']);
    expect(values('data//{s}.fastq')).toEqual(['a', 'a-1', 'b', 'x.(1)', 'xx1']);
    expect(values(`${ws.dir}/data/{s}.fastq`)).toEqual(['a', 'a-1', 'b', 'x.(1)', 'xx1']);
    expect(values('data/{s}')).toEqual(['a-1.fastq', 'a.fastq', 'b.fastq', 'c.txt', 'sub', 'x.(1).fastq', 'xx1.fastq']);
    expect(values('data/{s}/d.fastq')).toEqual(['sub']);
    expect(globAxisValues('data/{sample}.fastq', 'sample', ws.dir)).toEqual(['a', 'a-1', 'b', 'x.(1)', 'xx1']);
  });

  it('matches a value captured in an earlier segment literally, and a repeated wildcard as the same text', () => {
    expect(values('samples/{s}/{s}_R1.fq')).toEqual(['s1', 's2']);
    expect(values('samples/{s}/{s}_R2.fq')).toEqual(['s1']);
    expect(values('pairs/{s}_{s}.pair')).toEqual(['a']);
  });

  it('skips hidden files unless the pattern names them', () => {
    expect(values('dots/{s}.rc')).toEqual(['y']);
    expect(values('dots/.{s}.rc')).toEqual(['x']);
  });

  it('needs the literal segments to exist (directories before the last), and finds nothing in a file', () => {
    const none = (pattern: string) => ({ name: 'GlobAxisError', message: `glob "${pattern}" matches no file`, hint: 'check the pattern (relative to the workspace), or add the files' });
    for (const p of ['data/c.txt/{s}', 'nope/{s}.fastq', 'data/{s}.bam', 'flat/{s}/{s}.x', 'data/{s}/e.fastq', 'samples/file/../s1/{s}_R1.fq'])
      expect(thrown(() => values(p))).toEqual(none(p));
  });

  it('needs exactly the axis as wildcard', () => {
    expect(thrown(() => values('data/x.fastq'))).toEqual({ name: 'GlobAxisError', message: 'glob "data/x.fastq" has no {s} wildcard', hint: 'mark the part of the file name that is the value, e.g. "data/{s}.csv"' });
    expect(thrown(() => values('data/{s}/{t}.fastq'))).toEqual({ name: 'GlobAxisError', message: 'glob "data/{s}/{t}.fastq" uses the wildcard {t}; an axis glob may only use {s}', hint: 'write {s}, or make t its own axis' });
    expect(thrown(() => values('data/{}.fastq')).message).toBe('glob "data/{}.fastq" uses the wildcard {}; an axis glob may only use {s}');
  });
});

describe('a glob axis in a pipeline', () => {
  it('expands to one instance per value, and its errors are located on glob:', async () => {
    const { ok, errors } = loader(() => ws);
    const p = await ok('stages:\n  s:\n    matrix: { s: { glob: "samples/{s}/{s}_R1.fq" } }\n    run: [echo, "${matrix.s}"]\n');
    expect(p.instances.map((i) => i.id)).toEqual(['s@s=s1', 's@s=s2']);
    expect(await errors('stages:\n  s:\n    matrix: { s: { glob: "x/{t}" } }\n    run: [echo]\n')).toEqual([
      '3:26: error: stages.s.matrix.s: glob "x/{t}" uses the wildcard {t}; an axis glob may only use {s}\n  hint: write {s}, or make t its own axis',
    ]);
  });
});
