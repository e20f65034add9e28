import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

// A small real pipeline of external node commands: gen -> use@seed=* -> all.
const PIPELINE = `
params: { n: 3, seeds: [1, 2] }
stages:
  gen:
    run: [node, -e, "require('fs').writeFileSync(process.argv[1], 'n=' + process.argv[2])", "\${outs.data}", "\${params.n}"]
    outs: { data: data.txt }
  use:
    matrix: { seed: "\${params.seeds}" }
    run: [node, -e, "const fs=require('fs'); fs.writeFileSync(process.argv[2], fs.readFileSync(process.argv[1],'utf8')+' seed='+process.argv[3])", "\${stages.gen.outputs.data}", "\${outs.r}", "\${matrix.seed}"]
    outs: { r: r.txt }
  all:
    run: [node, -e, "const fs=require('fs'); fs.writeFileSync(process.argv[process.argv.length-1], process.argv.slice(1,-1).map(f=>fs.readFileSync(f,'utf8')).join('|'))", "\${stages.use.outputs.r}", "\${outs.joined}"]
    outs: { joined: joined.txt }
`;

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

describe('pipe run', () => {
  it('runs everything, then nothing, then exactly what a param change affects', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    const first = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(first.exitCode).toBe(0);
    expect(byStatus(first.doc)).toEqual({ ran: ['all', 'gen', 'use@seed=1', 'use@seed=2'] });
    const joined = first.doc.instances.find((i) => i.id === 'all')!.outputs!.joined;
    expect(readFileSync(joined, 'utf8')).toBe('n=3 seed=1|n=3 seed=2');

    const second = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(byStatus(second.doc)).toEqual({ cached: ['all', 'gen', 'use@seed=1', 'use@seed=2'] });

    // Adding a seed runs only the new instance and the aggregate.
    const third = await runPipeJson(['run', 'p.yaml', '--set', 'seeds=[1,2,3]'], { cwd: ws.dir });
    expect(byStatus(third.doc)).toEqual({ cached: ['gen', 'use@seed=1', 'use@seed=2'], ran: ['all', 'use@seed=3'] });

    // Going back to an earlier value is a cache hit (run-cache).
    const back = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(byStatus(back.doc)).toEqual({ cached: ['all', 'gen', 'use@seed=1', 'use@seed=2'] });
  });
});
