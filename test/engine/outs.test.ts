// Output paths of command stages stay inside the stage's output directory (src/pipeline/outs.ts), in the
// test process: each refused form with its message and fix, located on the path (the long form's path:).
// confine.test.ts shows the same through `pipe`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutsConfined, outPathProblem } from '../../src/pipeline/outs.js';
import type { JsonPath } from '../../src/pipeline/locate.js';
import type { StageDecl } from '../../src/pipeline/types.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';
import { loader } from '../support/load.js';

let ws: TempWorkspace;
beforeAll(() => {
  ws = tempWorkspace();
});
afterAll(() => ws.cleanup());
const { errors } = loader(() => ws);

const ABSOLUTE = (rel: string, base: string) => ({
  message: `"${rel}" is an absolute path, outside the stage's output directory`,
  hint: `write a path relative to the output directory, e.g. "${base}" (publish: copies an output to a workspace path)`,
});

describe('outPathProblem', () => {
  it('accepts a normalised relative path, a directory with its slash, names that merely look odd', () => {
    for (const rel of ['x.txt', 'a/b/c.csv', 'dir/', 'C:x', 'xC:/y', 'x\\', 'a/.pipe-entry.json', '.pipe-entry/.json', '..x', '...'])
      expect(outPathProblem(rel), rel).toBeUndefined();
  });

  it('refuses absolute paths, POSIX and Windows, suggesting the base name', () => {
    expect(outPathProblem('/abs/x.txt')).toEqual(ABSOLUTE('/abs/x.txt', 'x.txt'));
    expect(outPathProblem('/')).toEqual(ABSOLUTE('/', 'out'));
    expect(outPathProblem('C:\\x\\y.txt')).toEqual(ABSOLUTE('C:\\x\\y.txt', 'y.txt'));
    expect(outPathProblem('d:/y')).toEqual(ABSOLUTE('d:/y', 'y'));
    expect(outPathProblem('\\\\server\\share\\z')).toEqual(ABSOLUTE('\\\\server\\share\\z', 'z'));
  });

  it('refuses a path that climbs out', () => {
    const climbs = (rel: string, base: string) => ({ message: `"${rel}" climbs out of the stage's output directory`, hint: `write a path inside it, e.g. "${base}" (publish: copies an output to a workspace path)` });
    expect(outPathProblem('..')).toEqual(climbs('..', 'out'));
    expect(outPathProblem('../up.txt')).toEqual(climbs('../up.txt', 'up.txt'));
    expect(outPathProblem('a/../../b')).toEqual(climbs('a/../../b', 'b'));
    expect(outPathProblem('../..')).toEqual(climbs('../..', 'out'));
  });

  it('refuses the directory itself, a path not normalised, and the manifest name', () => {
    const itself = (rel: string) => ({ message: `"${rel}" names the output directory itself`, hint: 'name a file or directory inside it, e.g. "out"' });
    expect(outPathProblem('.')).toEqual(itself('.'));
    expect(outPathProblem('./')).toEqual(itself('./'));
    expect(outPathProblem('./x.txt')).toEqual({ message: '"./x.txt" is not normalised', hint: 'write "x.txt"' });
    expect(outPathProblem('x//y/')).toEqual({ message: '"x//y/" is not normalised', hint: 'write "x/y"' });
    expect(outPathProblem('a/../b')).toEqual({ message: '"a/../b" is not normalised', hint: 'write "b"' });
    const reserved = (rel: string) => ({ message: `"${rel}" is reserved for the store's manifest`, hint: 'choose another name' });
    expect(outPathProblem('.pipe-entry.json')).toEqual(reserved('.pipe-entry.json'));
    expect(outPathProblem('.pipe-entry.json/')).toEqual(reserved('.pipe-entry.json/'));
    expect(outPathProblem('.pipe-entry.json/x')).toEqual(reserved('.pipe-entry.json/x'));
  });
});

describe('checkOutsConfined', () => {
  it('reports each bad path of a pipeline at the path (the long form: its path:)', async () => {
    expect(
      await errors(`
stages:
  s:
    run: [echo]
    outs:
      a: /abs/x.txt
      b: { path: ../up.txt, publish: r/b.txt }
      ok: fine.txt
      okl: { path: fine2.txt }
      c: .
`),
    ).toEqual([
      `6:10: error: stages.s.outs.a: "/abs/x.txt" is an absolute path, outside the stage's output directory\n  hint: write a path relative to the output directory, e.g. "x.txt" (publish: copies an output to a workspace path)`,
      `7:18: error: stages.s.outs.b: "../up.txt" climbs out of the stage's output directory\n  hint: write a path inside it, e.g. "up.txt" (publish: copies an output to a workspace path)`,
      `10:10: error: stages.s.outs.c: "." names the output directory itself\n  hint: name a file or directory inside it, e.g. "out"`,
    ]);
  });

  it('locates on the output itself where the stage as written has no outs: (a template gave it)', () => {
    const seen: [JsonPath, boolean, string][] = [];
    const stages: StageDecl[] = [
      { name: 's', outs: { a: '/x', b: 'y' } },
      { name: 't', outs: { c: '..' } },
      { name: 'u' },
    ];
    const raw: Record<string, { [k: string]: unknown } | undefined> = { s: {}, t: { outs: { c: { path: '..' } } } };
    checkOutsConfined(stages, (name) => raw[name] as { [k: string]: unknown }, (path, key, message) => seen.push([path, key, message]));
    expect(seen).toEqual([
      [['stages', 's', 'outs', 'a'], false, 'stages.s.outs.a: "/x" is an absolute path, outside the stage\'s output directory'],
      [['stages', 't', 'outs', 'c', 'path'], false, 'stages.t.outs.c: ".." climbs out of the stage\'s output directory'],
    ]);
  });
});
