// The store, not the database, is the truth about results: a lost, emptied or damaged runs/pipe.db costs
// no recomputation. `pipe store reindex` (and a run that finds a new database beside a non-empty store)
// rebuilds the index from the entries' manifests, each verified in full first.
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

const LOGGED = (name: string, body: string) => `"const fs=require('fs'); fs.appendFileSync('executions.log', '${name}\\\\n'); ${body}"`;
const PIPELINE = `stages:
  a:
    run: [node, -e, ${LOGGED('a', "fs.writeFileSync(process.argv[1], 'a data')")}, "\${outs.o}"]
    outs: { o: a.txt }
  b:
    run: [node, -e, ${LOGGED('b', "fs.writeFileSync(process.argv[1], fs.readFileSync(process.argv[2], 'utf8').toUpperCase())")}, "\${outs.o}", "\${stages.a.outputs.o}"]
    outs: { o: b.txt }
`;

const executions = (): string[] => (existsSync(ws.path('executions.log')) ? readFileSync(ws.path('executions.log'), 'utf8').split('\n').filter(Boolean) : []);
const dropDb = () => {
  for (const s of ['', '-wal', '-shm']) rmSync(ws.path(`runs/pipe.db${s}`), { force: true });
};

/** The first run; returns the key of each instance. */
async function firstRun(): Promise<Record<string, string>> {
  ws.write('p.yaml', PIPELINE);
  const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
  expect(r.exitCode).toBe(0);
  expect(executions()).toEqual(['a', 'b']);
  return Object.fromEntries(r.doc.instances.map((i) => [i.id, i.key!]));
}

async function cachedRun(): Promise<void> {
  const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
  expect(r.exitCode).toBe(0);
  expect(byStatus(r.doc)).toEqual({ cached: ['a', 'b'] });
  expect(executions()).toEqual(['a', 'b']);
}

describe('pipe store reindex', () => {
  it('rebuilds the index after runs/pipe.db was deleted: the next run executes nothing', async () => {
    ws = tempWorkspace();
    await firstRun();
    dropDb();
    const r = await runPipe(['store', 'reindex', '--json'], { cwd: ws.dir });
    expect(r.exitCode).toBe(0);
    const report = JSON.parse(r.stdout) as { indexed: string[]; present: number; corrupt: unknown[]; skipped: unknown[] };
    expect(report.indexed).toHaveLength(2);
    expect(report).toMatchObject({ present: 0, corrupt: [], skipped: [] });
    await cachedRun();
    // A second reindex finds everything indexed.
    const again = JSON.parse((await runPipe(['store', 'reindex', '--json'], { cwd: ws.dir })).stdout) as { indexed: string[]; present: number };
    expect(again).toMatchObject({ indexed: [], present: 2 });
  });

  it('moves an emptied database aside (exit 3 before), then indexes the store', async () => {
    ws = tempWorkspace();
    await firstRun();
    // A checkpoint folds the WAL into pipe.db; then the file is emptied, as a failed copy would leave it.
    rmSync(ws.path('runs/pipe.db-wal'), { force: true });
    rmSync(ws.path('runs/pipe.db-shm'), { force: true });
    truncateSync(ws.path('runs/pipe.db'), 0);
    const refused = await runPipe(['run', 'p.yaml'], { cwd: ws.dir });
    expect(refused.exitCode).toBe(3);
    expect(refused.stderr).toContain('pipe store reindex');
    const r = await runPipe(['store', 'reindex'], { cwd: ws.dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/moved to runs\/pipe\.db\.broken-/);
    expect(r.stdout).toContain('indexed 2 results');
    expect(readdirSync(ws.path('runs')).some((f) => f.startsWith('pipe.db.broken-'))).toBe(true);
    await cachedRun();
  });

  it('a run that finds a new database beside a non-empty store indexes it first', async () => {
    ws = tempWorkspace();
    await firstRun();
    dropDb();
    const r = await runPipe(['run', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('indexed 2 results from runs/store/');
    expect(executions()).toEqual(['a', 'b']);
  });

  it('verifies each entry in full: a damaged one is moved aside, not indexed, and rebuilt by the next run', async () => {
    ws = tempWorkspace();
    const keyA = (await firstRun()).a;
    dropDb();
    const file = ws.path(join('runs/store', keyA.slice(0, 2), keyA, 'a.txt'));
    chmodSync(file, 0o644);
    writeFileSync(file, 'forged');
    const r = JSON.parse((await runPipe(['store', 'reindex', '--json'], { cwd: ws.dir })).stdout) as { indexed: string[]; corrupt: { key: string; movedTo: string }[] };
    expect(r.indexed).toHaveLength(1);
    expect(r.corrupt.map((c) => c.key)).toEqual([keyA]);
    expect(existsSync(r.corrupt[0].movedTo)).toBe(true);
    const next = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(next.exitCode).toBe(0);
    expect(executions()).toEqual(['a', 'b', 'a']);
    expect(readFileSync(next.doc.instances.find((i) => i.id === 'b')!.outputs!.o, 'utf8')).toBe('A DATA');
  });
});
