// Inputs of command stages through the real CLI: named deps, params files, glob matrix axes,
// ${resources...}, and the refusal of untracked workspace paths in run:.
import { readFileSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

// Copies its input (argv[1]) upper-cased to argv[2], then appends the remaining arguments.
const UPPER = `const fs = require('fs');
const [, , input, out, ...rest] = process.argv;
fs.writeFileSync(out, fs.readFileSync(input, 'utf8').toUpperCase() + rest.join(' '));
`;

describe('command stage inputs', () => {
  it('deps as a map: ${deps.NAME} in run:, and editing a dep re-runs exactly the stages that read it', async () => {
    ws = tempWorkspace();
    ws.write('tools/upper.js', UPPER);
    ws.write('data/a.txt', 'a');
    ws.write('data/b.txt', 'b');
    ws.write('p.yaml', `
stages:
  a:
    deps: { input: data/a.txt, script: tools/upper.js }
    run: [node, "\${deps.script}", "\${deps.input}", "\${outs.o}", "cpus=\${resources.cpu}"]
    resources: { cpu: 2 }
    outs: { o: a.txt }
  b:
    deps: { input: data/b.txt, script: tools/upper.js }
    run: [node, "\${deps.script}", "\${deps.input}", "\${outs.o}"]
    outs: { o: b.txt }
  both:
    deps: [tools/upper.js]
    run: [node, tools/upper.js, "\${stages.a.outputs.o}", "\${outs.o}"]
    outs: { o: both.txt }
`);
    const first = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(byStatus(first.doc)).toEqual({ ran: ['a', 'b', 'both'] });
    expect(readFileSync(first.doc.instances.find((i) => i.id === 'a')!.outputs!.o, 'utf8')).toBe('Acpus=2');

    ws.write('data/b.txt', 'b2');
    expect(byStatus((await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir })).doc)).toEqual({ cached: ['a', 'both'], ran: ['b'] });
    ws.write('data/a.txt', 'a2');
    expect(byStatus((await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir })).doc)).toEqual({ cached: ['b'], ran: ['a', 'both'] });

    // An unknown name is a located validation error.
    ws.write('bad.yaml', `
stages:
  a:
    deps: { input: data/a.txt }
    run: [cat, "\${deps.inptu}"]
`);
    const bad = await runPipe(['validate', 'bad.yaml'], { cwd: ws.dir });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml:5:16: error: stages\.a\.run\[1\]: unknown dep "inptu"\n  hint: named deps of a: input/);
  });

  it('params_files: keys join params; a stage keys only the values it uses, so an unused key re-runs nothing', async () => {
    ws = tempWorkspace();
    ws.write('params.yaml', 'train: { lr: 0.1, epochs: 3 }\nevaluate: { top: 5 }\n');
    ws.write('p.yaml', `
params_files: [params.yaml]
params: { train: { lr: 0.5, batch: 8 } }
stages:
  lr:
    run: [node, -e, "require('fs').writeFileSync(process.argv[1], process.argv[2] + ' ' + process.argv[3])", "\${outs.o}", "\${params.train.lr}", "\${params.train.batch}"]
    outs: { o: lr.txt }
  reads-file:
    params: [train.epochs]
    run: [node, -e, "require('fs').copyFileSync(process.argv[2], process.argv[1])", "\${outs.o}", params.yaml]
    outs: { o: copy.yaml }
`);
    const first = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(byStatus(first.doc)).toEqual({ ran: ['lr', 'reads-file'] });
    // File over pipeline defaults, key by key: lr from the file, batch from the pipeline.
    expect(readFileSync(first.doc.instances.find((i) => i.id === 'lr')!.outputs!.o, 'utf8')).toBe('0.1 8');

    ws.write('params.yaml', 'train: { lr: 0.1, epochs: 3 }\nevaluate: { top: 10 }\n');
    expect(byStatus((await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir })).doc)).toEqual({ cached: ['lr', 'reads-file'] });

    ws.write('params.yaml', 'train: { lr: 0.1, epochs: 4 }\nevaluate: { top: 10 }\n');
    const status = await runPipe(['status', 'p.yaml'], { cwd: ws.dir });
    expect(status.stdout).toMatch(/stale +reads-file\n +param +train\.epochs: 3 -> 4/);
    expect(byStatus((await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir })).doc)).toEqual({ cached: ['lr'], ran: ['reads-file'] });

    // --set over the file.
    const set = await runPipeJson(['run', 'p.yaml', '--set', 'train.lr=0.3'], { cwd: ws.dir });
    expect(byStatus(set.doc)).toEqual({ cached: ['reads-file'], ran: ['lr'] });
    expect(readFileSync(set.doc.instances.find((i) => i.id === 'lr')!.outputs!.o, 'utf8')).toBe('0.3 8');

    ws.write('params.yaml', 'train: { lr: 0.1 }\n');
    const missing = await runPipe(['validate', 'p.yaml'], { cwd: ws.dir });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/p\.yaml:9:14: error: stages\.reads-file\.params\[0\]: param "train" has no key "epochs"/);
  });

  it('a glob matrix axis: a new matching file adds one instance, a removed one drops it', async () => {
    ws = tempWorkspace();
    for (const s of ['b', 'a']) ws.write(`data/samples/${s}.fastq`, s);
    ws.write('data/samples/.a.fastq.swp', 'editor');
    ws.write('data/samples/notes.txt', 'not a sample');
    ws.write('p.yaml', `
stages:
  count:
    matrix: { sample: { glob: "data/samples/{sample}.fastq" } }
    deps: { fastq: "data/samples/\${matrix.sample}.fastq" }
    run: [node, -e, "const fs=require('fs'); fs.writeFileSync(process.argv[2], String(fs.readFileSync(process.argv[1]).length))", "\${deps.fastq}", "\${outs.n}"]
    outs: { n: n.txt }
`);
    expect(byStatus((await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir })).doc)).toEqual({ ran: ['count@sample=a', 'count@sample=b'] });
    ws.write('data/samples/c.fastq', 'ccc');
    expect(byStatus((await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir })).doc)).toEqual({ cached: ['count@sample=a', 'count@sample=b'], ran: ['count@sample=c'] });
    rmSync(ws.path('data/samples/a.fastq'));
    expect(byStatus((await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir })).doc)).toEqual({ cached: ['count@sample=b', 'count@sample=c'] });

    ws.write('none.yaml', 'stages:\n  s:\n    matrix: { x: { glob: "data/{x}.csv" } }\n    run: [true]\n');
    const none = await runPipe(['validate', 'none.yaml'], { cwd: ws.dir });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/none\.yaml:3:26: error: stages\.s\.matrix\.x: glob "data\/\{x\}\.csv" matches no file/);
  });

  it('a workspace path in run: that is neither a dep nor an upstream output is exit 2, naming it', async () => {
    ws = tempWorkspace();
    ws.write('tools/upper.js', UPPER);
    ws.write('data/in.txt', 'x');
    ws.write('data/ref.txt', 'r');
    ws.write('params.yaml', 'k: 1\n');
    const pipeline = (extra: string) => `
params_files: [params.yaml]
stages:
  up:
    deps: [data/in.txt]
    run: [node, tools/upper.js, data/in.txt, "\${outs.o}", "--ref=data/ref.txt", runs/anything, missing/file.txt]
    outs: { o: o.txt }
${extra}
  shell:
    shell: true
    run: "cat data/in.txt params.yaml | node tools/upper.js /dev/stdin \${outs.o}"
    deps: [data/in.txt]
    params: [k]
    outs: { o: o.txt }
  down:
    run: [node, "\${deps.s}", "\${stages.up.outputs.o}", "\${outs.o}"]
    deps: { s: tools/upper.js }
    outs: { o: o.txt }
`;
    ws.write('p.yaml', pipeline(''));
    const bad = await runPipe(['run', 'p.yaml'], { cwd: ws.dir });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('p.yaml:6:17: error: stages.up.run[1]: "tools/upper.js" is a file of the workspace that is neither a dep nor an upstream output: editing it would not re-run up');
    expect(bad.stderr).toContain('hint: add it to deps: (e.g. deps: { NAME: tools/upper.js }, then ${deps.NAME} in run:), or list it under untracked: [tools/upper.js] to say it is deliberate');
    expect(bad.stderr).toContain('stages.up.run[4]: "data/ref.txt" is a file of the workspace');
    expect(bad.stderr).toContain('p.yaml:11:10: error: stages.shell.run: "tools/upper.js" is a file');
    // The program on PATH, a dep, a path under runs/, a missing path, outputs, a params file of a stage
    // that lists params: keys: none of them is reported.
    expect(bad.stderr).toMatch(/\n3 errors$/);
    expect(bad.stderr).not.toMatch(/runs\/anything|missing|params\.yaml"|data\/in\.txt"/);

    ws.write('p.yaml', pipeline('    untracked: [tools, data/ref.txt]').replace(/shell:\n    shell: true\n    run: "cat/, 'shell:\n    shell: true\n    untracked: [tools/upper.js]\n    run: "cat'));
    const ok = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(byStatus(ok.doc)).toEqual({ ran: ['down', 'shell', 'up'] });
  });
});
