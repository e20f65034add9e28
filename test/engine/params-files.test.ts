// `params_files:` read in the test process (src/pipeline/params-files.ts): files merged in order, key by
// key; an empty file adds nothing; a missing file, a file that is not a map and a YAML error are each
// reported, the last at its line in the params file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/pipeline/diagnostic.js';
import type { JsonPath } from '../../src/pipeline/locate.js';
import { readParamsFiles } from '../../src/pipeline/params-files.js';
import type { Diagnostic } from '../../src/pipeline/types.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
beforeAll(() => {
  ws = tempWorkspace();
  ws.write('a.yaml', 'train: { lr: 0.5, epochs: 3 }\nname: a\n');
  ws.write('b.yaml', 'train: { epochs: 4 }\n');
  ws.write('empty.yaml', '');
  ws.write('null.yaml', '~\n');
  ws.write('list.yaml', '- 1\n- 2\n');
  ws.write('scalar.yaml', 'just text\n');
  ws.write('bad.yaml', 'a: 1\nb: [1\n');
  ws.write('dup.yaml', 'a: 1\na: 2\n');
});
afterAll(() => ws.cleanup());

function read(files: string[]) {
  const reports: [JsonPath, boolean, string, string | undefined][] = [];
  const diags: Diagnostic[] = [];
  const r = readParamsFiles(files, ws.dir, (path, key, message, hint) => reports.push([path, key, message, hint]), diags);
  return { ...r, reports, diags: diags.map(formatDiagnostic) };
}

describe('readParamsFiles', () => {
  it('merges the files in order, maps key by key; empty files add nothing; paths relative to the workspace', () => {
    expect(read(['a.yaml', 'empty.yaml', ws.path('b.yaml'), 'null.yaml'])).toEqual({
      params: { train: { lr: 0.5, epochs: 4 }, name: 'a' },
      files: ['a.yaml', 'empty.yaml', 'b.yaml', 'null.yaml'],
      reports: [],
      diags: [],
    });
    expect(read([])).toEqual({ params: {}, files: [], reports: [], diags: [] });
  });

  it('reports a file it cannot read, and one that is not a map, at its entry', () => {
    const r = read(['nope.yaml', 'list.yaml', 'scalar.yaml', 'a.yaml', '.']);
    expect(r.params).toEqual({ train: { lr: 0.5, epochs: 3 }, name: 'a' });
    expect(r.files).toEqual(['nope.yaml', 'list.yaml', 'scalar.yaml', 'a.yaml', '.']);
    expect(r.reports).toEqual([
      [['params_files', 0], false, 'params_files[0]: cannot read nope.yaml (ENOENT)', 'create it, or remove it from params_files:'],
      [['params_files', 1], false, 'params_files[1]: list.yaml must hold a map of params (name: value)', 'e.g. "train: { lr: 0.01, epochs: 10 }"'],
      [['params_files', 2], false, 'params_files[2]: scalar.yaml must hold a map of params (name: value)', 'e.g. "train: { lr: 0.01, epochs: 10 }"'],
      [['params_files', 4], false, 'params_files[4]: cannot read . (EISDIR)', 'create it, or remove it from params_files:'],
    ]);
  });

  it('reports YAML errors and duplicate keys at their line in the params file', () => {
    const r = read(['bad.yaml', 'dup.yaml']);
    expect(r.reports).toEqual([]);
    expect(r.params).toEqual({});
    expect(r.diags).toEqual([
      'bad.yaml:3:1: error: Flow sequence in block collection must be sufficiently indented and end with a ]\n  hint: fix the YAML syntax of this params file',
      'dup.yaml:2:1: error: Map keys must be unique\n  hint: fix the YAML syntax of this params file',
    ]);
  });
});

describe('formatDiagnostic', () => {
  it('file:line:col, or the file alone at line 0; the hint on its own line when there is one', () => {
    expect(formatDiagnostic({ file: 'p.yaml', line: 3, col: 7, message: 'm', hint: 'h' })).toBe('p.yaml:3:7: error: m\n  hint: h');
    expect(formatDiagnostic({ file: 'p.yaml', line: 0, col: 0, message: 'm' })).toBe('p.yaml: error: m');
    expect(formatDiagnostic({ file: 'p.yaml', line: 1, col: 1, message: 'm', hint: '' })).toBe('p.yaml:1:1: error: m');
  });
});
