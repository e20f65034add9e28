// `pipe status` explains why an instance is out of date; `runs`, `show` and `dag` read the history.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runPipe, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

const W = `"require('fs').writeFileSync(process.argv[1], process.argv.slice(2).join(' '))"`;

describe('pipe status / runs / show / dag', () => {
  it('says which of code, param, input, env changed, with old and new values', async () => {
    ws = tempWorkspace();
    ws.write('tool.txt', 'v1');
    ws.write(
      'p.yaml',
      `params: { n: 1 }
stages:
  a:
    run: [node, -e, ${W}, "\${outs.o}", "\${params.n}"]
    deps: [tool.txt]
    env: { MODE: fast }
    outs: { o: a.txt }
  b:
    run: [node, -e, ${W}, "\${outs.o}", "\${stages.a.outputs.o}"]
    outs: { o: b.txt }
`,
    );
    expect((await runPipe(['status', 'p.yaml'], { cwd: ws.dir })).stdout).toContain('new         a  (never ran)');
    expect((await runPipe(['run', 'p.yaml'], { cwd: ws.dir })).exitCode).toBe(0);
    expect((await runPipe(['status', 'p.yaml'], { cwd: ws.dir })).stdout).toContain('2 up to date, 0 stale');

    ws.write('tool.txt', 'v2');
    const s = await runPipe(['status', 'p.yaml', '--set', 'n=2'], { cwd: ws.dir });
    expect(s.stdout).toMatch(/stale\s+a\n/);
    expect(s.stdout).toMatch(/param\s+n: 1 -> 2/);
    expect(s.stdout).toMatch(/code\s+argv\[4\]: "1" -> "2"/);
    expect(s.stdout).toMatch(/input\s+dep:tool\.txt: [0-9a-f]{12} -> [0-9a-f]{12}/);
    expect(s.stdout).toMatch(/pending\s+b\s+\(after a/);

    const json = JSON.parse((await runPipe(['status', 'p.yaml', '--json'], { cwd: ws.dir })).stdout) as {
      instances: { id: string; state: string; changes: { what: string; field: string }[] }[];
    };
    expect(json.instances[0]).toMatchObject({ id: 'a', state: 'stale', changes: [{ what: 'input', field: 'dep:tool.txt' }] });

    // env change
    ws.write('tool.txt', 'v1');
    ws.write('p.yaml', readFileSync(ws.path('p.yaml'), 'utf8').replace('MODE: fast', 'MODE: slow'));
    // env values are part of the key but shown (and stored) only hashed.
    const envChange = (await runPipe(['status', 'p.yaml'], { cwd: ws.dir })).stdout;
    expect(envChange).toMatch(/env\s+MODE: sha256:[0-9a-f]{12} -> sha256:[0-9a-f]{12}/);
    expect(envChange).not.toMatch(/fast|slow/);

    const runs = await runPipe(['runs'], { cwd: ws.dir });
    expect(runs.stdout).toMatch(/^1\s+\S+ \S+\s+\S+\s+succeeded\s+2\s+0\s+0\s+p\.yaml/m);
    const show = await runPipe(['show', '1'], { cwd: ws.dir });
    expect(show.stdout).toContain('run 1: succeeded');
    expect(show.stdout).toContain('log: runs/logs/1/a.log');
    const hist = await runPipe(['show', 'a'], { cwd: ws.dir });
    expect(hist.stdout).toMatch(/output o: runs\/store\/[0-9a-f]{2}\/[0-9a-f]{64}\/a\.txt/);
    const dag = await runPipe(['dag', 'p.yaml', '--mermaid'], { cwd: ws.dir });
    expect(dag.stdout).toBe('flowchart TD\n  n0["a (node)"]\n  n1["b (node)"]\n  n0 --> n1');
  });
});
