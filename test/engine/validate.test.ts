// Pipeline validation: every error in one pass, each with file:line:col and a hint.
import { afterEach, describe, expect, it } from 'vitest';
import { loadPipeline } from '../../src/pipeline/load.js';
import { defineStage, type StageKind } from '../../src/stage-api.js';
import { runPipe, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

const BAD = `params:
  seeds: [0, 1]
stages:
  a:
    run: [node, -e, "1", "\${params.nope}"]
    outs: { x: x.txt }
    bogus: 1
  b:
    run: [node, "\${stages.a.outputs.y}", "\${matrix.seed}"]
    needs: [zzz]
  c:
    uses: no/such-kind
  d:
    run: "echo hi"
  e:
    run: [node, "\${stages.f.outputs.o}"]
    outs: { o: o.txt }
  f:
    run: [node, "\${stages.e.outputs.o}", "\${bad"]
    outs: { o: o.txt }
  g:
    matrix: { seed: "\${params.seeds}", t: [] }
    run: [node, "\${params.seeds.x}"]
`;

describe('pipe validate', () => {
  it('reports every semantic and schema error with file:line:col, exit 2', async () => {
    ws = tempWorkspace();
    ws.write('bad.yaml', BAD);
    const r = await runPipe(['validate', 'bad.yaml'], { cwd: ws.dir });
    expect(r.exitCode).toBe(2);
    const errors = r.stderr.split('\n').filter((l) => l.includes(': error: '));
    const at = errors.map((l) => l.slice(0, l.indexOf(': error: ')));
    expect(at).toEqual([
      'bad.yaml:5:26', // unknown param
      'bad.yaml:7:5', // unknown field
      'bad.yaml:9:17', // unknown output of a stage
      'bad.yaml:9:42', // unknown matrix axis
      'bad.yaml:10:13', // needs: unknown stage
      'bad.yaml:12:11', // unknown stage kind
      'bad.yaml:14:10', // string run without shell
      'bad.yaml:15:3', // cycle
      'bad.yaml:19:42', // bad interpolation syntax
      'bad.yaml:22:43', // empty matrix axis
      'bad.yaml:23:17', // unknown key inside a param
    ]);
    expect(r.stderr).toContain('dependency cycle: e -> f -> e');
    expect(r.stderr).toContain('unknown stage kind "no/such-kind"');
    expect(r.stderr).toContain('11 errors');
    // Every error carries a hint.
    expect(r.stderr.split('\n').filter((l) => l.startsWith('  hint: '))).toHaveLength(11);
  });

  it('reports YAML syntax errors and duplicate ids with positions; run refuses with exit 2', async () => {
    ws = tempWorkspace();
    ws.write('syn.yaml', 'stages:\n  a:\n    run: [node\n    outs: { x: x.txt }\n  a:\n    run: x\n');
    const r = await runPipe(['run', 'syn.yaml'], { cwd: ws.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^syn\.yaml:4:5: error: /m);
    expect(r.stderr).toMatch(/^syn\.yaml:5:3: error: Map keys must be unique/m);
  });

  it("points a kind's params errors into the with: block", async () => {
    ws = tempWorkspace();
    const kind = defineStage<{ lr: number }>({
      kind: 'test/k',
      version: '1',
      description: 'test',
      params: { type: 'object', additionalProperties: false, required: ['lr'], properties: { lr: { type: 'number' } } },
      outputs: {},
      async run() {},
    });
    ws.write('p.yaml', 'params: { lr: fast }\nstages:\n  t:\n    uses: test/k\n    with:\n      lr: "${params.lr}"\n      epochs: 3\n  u:\n    uses: test/k\n    with: {}\n');
    const r = await loadPipeline('p.yaml', { workspace: ws.dir, kinds: { 'test/k': kind as StageKind<unknown> } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual([
      '6:11 stages.t.with.lr: must be number',
      '7:7 stages.t.with: unknown field "epochs"',
      '10:5 stages.u.with: missing required field "lr"',
    ]);
    expect(r.diagnostics[1].hint).toBe('allowed fields: lr');
  });

  it('rejects unknown --set params (exit 2) and unset environment variables', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', 'params:\n  root: "${env.PIPE_TEST_ROOT}"\nstages:\n  a: { run: [node, -e, "1"] }\n');
    const r = await runPipe(['validate', 'p.yaml', '--set', 'nope=1'], { cwd: ws.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--set nope=1: unknown param "nope"');
    expect(r.stderr).toMatch(/^p\.yaml:2:9: error: params\.root: environment variable PIPE_TEST_ROOT is not set\n  hint: export PIPE_TEST_ROOT=\.\.\., or write \$\{env\.PIPE_TEST_ROOT:-default\}, or give the param on the command line: --set root=\.\.\.$/m);
    const ok = await runPipe(['validate', 'p.yaml'], { cwd: ws.dir, env: { PIPE_TEST_ROOT: '/data' } });
    expect(ok.exitCode).toBe(0);
    // The hint's last way round works: --set gives the param, and its ${env...} is never read.
    const set = await runPipe(['validate', 'p.yaml', '--set', 'root=/data'], { cwd: ws.dir });
    expect(set.exitCode, set.stderr).toBe(0);
  });
});
