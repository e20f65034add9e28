// Resource use per instance (src/engine/usage.ts): CPU time and peak RSS of each executed attempt,
// recorded in its history row and result, shown by `pipe show`, `pipe run --json` and `pipe status --json`.
// Commands are measured over their whole process tree; built-in kinds in the engine's process.
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { defineStage } from '../../src/stage-api.js';
import { openStore } from '../../src/store/index.js';
import { runEngine, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

const MB = 1e6 / 1024; // KiB in a (decimal) megabyte
/** A Node program that touches 200 MB, holds it 1.5 s (several samples), spins ~0.3 s of CPU, then writes its argument. */
const HOG = "const b = Buffer.alloc(200e6, 1); const t = Date.now(); while (Date.now() - t < 300); setTimeout(() => require('fs').writeFileSync(process.argv[2], String(b.length)), 1500);\n";

interface Figures {
  cpuMs: number | null;
  peakRssKb: number | null;
}

describe('resource use per instance', () => {
  it('records a command\'s CPU and peak RSS, its subprocesses included, and shows them', async () => {
    ws = tempWorkspace();
    writeFileSync(ws.path('hog.js'), HOG);
    // `direct` is the program itself; in `nested` it is a child of the shell (which runs on after it).
    ws.write('p.yaml', `
stages:
  direct:
    run: [node, hog.js, "\${outs.o}"]
    deps: { hog: hog.js }
    outs: { o: o.txt }
  nested:
    shell: true
    run: node hog.js \${outs.o} && echo nested
    deps: { hog: hog.js }
    outs: { o: o.txt }
`);
    const r = await runPipeJson(['run', 'p.yaml', '--jobs', '1'], { cwd: ws.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const i of r.doc.instances) {
      const used = i as unknown as { cpu_ms: number; peak_rss_kb: number };
      expect(used.peak_rss_kb, i.id).toBeGreaterThanOrEqual(200 * MB);
      expect(used.cpu_ms, i.id).toBeGreaterThan(0);
    }

    // The history rows hold them: pipe show RUN --json, and the columns of pipe show RUN.
    const show = JSON.parse((await runPipe(['show', String(r.doc.run), '--json'], { cwd: ws.dir })).stdout) as { instances: (Figures & { instanceId: string })[] };
    for (const i of show.instances) {
      expect(i.peakRssKb, i.instanceId).toBeGreaterThanOrEqual(200 * MB);
      expect(i.cpuMs, i.instanceId).toBeGreaterThan(0);
    }
    const text = (await runPipe(['show', String(r.doc.run)], { cwd: ws.dir })).stdout;
    expect(text).toMatch(/^STATUS +DURATION +CPU +PEAK RSS +KEY +INSTANCE$/m);
    expect(text).toMatch(/^ran +\S+ +\S+ +(2\d\d|[3-9]\d\d)MB +\w+ +nested$/m);
    // The committed result keeps them: pipe status --json and the instance's history.
    const status = JSON.parse((await runPipe(['status', 'p.yaml', '--json'], { cwd: ws.dir })).stdout) as { instances: { id: string; result: { cpu_ms: number; peak_rss_kb: number } }[] };
    for (const i of status.instances) expect(i.result.peak_rss_kb, i.id).toBeGreaterThanOrEqual(200 * MB);
    expect((await runPipe(['show', 'direct'], { cwd: ws.dir })).stdout).toMatch(/latest result \w+ \(direct, run 1, .*, CPU \S+, peak RSS (2\d\d|[3-9]\d\d)MB\)/);

    // A cached instance used nothing this run: its row has no figures.
    const again = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    const cached = JSON.parse((await runPipe(['show', String(again.doc.run), '--json'], { cwd: ws.dir })).stdout) as { instances: (Figures & { status: string })[] };
    expect(cached.instances.map((i) => [i.status, i.cpuMs, i.peakRssKb])).toEqual([['cached', null, null], ['cached', null, null]]);
  });

  it('records a built-in kind\'s CPU and the peak RSS of the process during the attempt', async () => {
    ws = tempWorkspace();
    let held: Buffer | undefined;
    const hog = defineStage<{ mb: number }>({
      kind: 'test/hog',
      version: '1',
      description: 'Touches mb megabytes, then writes a file.',
      params: { type: 'object', properties: { mb: { type: 'number' } } },
      outputs: { o: { path: 'o.txt', description: 'a file' } },
      async run(ctx) {
        held = Buffer.alloc(ctx.params.mb * 1e6, 1);
        writeFileSync(ctx.output('o'), String(held.length));
      },
    });
    ws.write('p.yaml', 'stages:\n  hog:\n    uses: test/hog\n    with: { mb: 200 }\n');
    const r = await runEngine(ws.dir, 'p.yaml', { kinds: [hog] });
    held = undefined;
    const i = r.instances[0];
    expect(i.status).toBe('ran');
    expect(i.peak_rss_kb).toBeGreaterThanOrEqual(200 * MB);
    expect(i.cpu_ms).toBeGreaterThan(0);
    const store = openStore(ws.path('runs/pipe.db'));
    try {
      expect(store.runInstances(r.run!)[0]).toMatchObject({ cpuMs: i.cpu_ms, peakRssKb: i.peak_rss_kb });
      expect(store.getCommitted(i.key!)).toMatchObject({ cpuMs: i.cpu_ms, peakRssKb: i.peak_rss_kb });
    } finally {
      store.close();
    }
  });
});
