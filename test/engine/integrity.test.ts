// Store integrity: every committed file is recorded (size, mtime, sha256) and read-only; a restore stats
// each file (a changed mtime is re-hashed), --verify re-hashes all; a damaged entry is reported corrupt,
// moved aside to runs/corrupt/ and rebuilt, and downstream never reads the damaged bytes.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

const LOGGED = (name: string, body: string) => `"const fs=require('fs'); fs.appendFileSync('executions.log', '${name}\\\\n'); ${body}"`;
const PIPELINE = `stages:
  a:
    run: [node, -e, ${LOGGED('a', "fs.mkdirSync(process.argv[1]); fs.writeFileSync(process.argv[1] + '/data.txt', 'original data'); fs.writeFileSync(process.argv[1] + '/other.txt', 'x')")}, "\${outs.d}"]
    outs: { d: d }
  b:
    run: [node, -e, ${LOGGED('b', "fs.writeFileSync(process.argv[1], fs.readFileSync(process.argv[2] + '/data.txt', 'utf8').toUpperCase())")}, "\${outs.o}", "\${stages.a.outputs.d}"]
    outs: { o: b.txt }
`;

const executions = (): string[] => readFileSync(ws.path('executions.log'), 'utf8').split('\n').filter(Boolean);

async function firstRun(): Promise<{ aDir: string; bOut: string }> {
  ws.write('p.yaml', PIPELINE);
  const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
  expect(r.exitCode).toBe(0);
  const get = (id: string) => r.doc.instances.find((i) => i.id === id)!;
  return { aDir: get('a').outputs!.d, bOut: get('b').outputs!.o };
}

/** Edits a committed file (the test makes it writable first: the store keeps files read-only). */
function tamper(path: string, content: string, keepMtime: boolean): void {
  // touch -r copies the timestamp with its nanoseconds (utimes from JS would round them).
  if (keepMtime) execFileSync('touch', ['-r', path, ws.path('mtime.ref')]);
  chmodSync(path, 0o644);
  writeFileSync(path, content);
  if (keepMtime) execFileSync('touch', ['-r', ws.path('mtime.ref'), path]);
}

async function expectRebuilt(extra: string[] = []): Promise<void> {
  const r = await runPipeJson(['run', 'p.yaml', ...extra], { cwd: ws.dir });
  expect(r.exitCode).toBe(0);
  expect(byStatus(r.doc)).toEqual({ cached: ['b'], ran: ['a'] });
  const a = r.doc.instances.find((i) => i.id === 'a')! as { corrupt?: string; outputs?: Record<string, string> };
  expect(a.corrupt).toMatch(/data\.txt .*moved to runs\/corrupt\//);
  expect(readFileSync(join(a.outputs!.d, 'data.txt'), 'utf8')).toBe('original data');
  expect(readdirSync(ws.path('runs/corrupt'))).toHaveLength(1); // kept, not deleted
  expect(executions()).toEqual(['a', 'b', 'a']);
}

describe('store integrity', () => {
  it('commits read-only files with a manifest of their sizes and hashes', async () => {
    ws = tempWorkspace();
    const { aDir, bOut } = await firstRun();
    expect(statSync(join(aDir, 'data.txt')).mode & 0o777).toBe(0o444);
    expect(statSync(bOut).mode & 0o777).toBe(0o444);
    expect(statSync(aDir).mode & 0o200).toBe(0o200); // directories stay writable: rm -rf works
    const manifest = JSON.parse(readFileSync(join(aDir, '..', '.pipe-entry.json'), 'utf8'));
    expect(manifest.instanceId).toBe('a');
    expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(['d/data.txt', 'd/other.txt']);
    expect(manifest.files[0]).toMatchObject({ size: 13, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('edited bytes (new mtime): the restore re-hashes, reports corrupt, moves the entry aside, rebuilds', async () => {
    ws = tempWorkspace();
    const { aDir } = await firstRun();
    tamper(join(aDir, 'data.txt'), 'damaged data!', false);
    const st = await runPipe(['status', 'p.yaml'], { cwd: ws.dir });
    expect(st.stdout).toMatch(/^corrupt\s+a\s+\(d\/data\.txt changed content/m);
    await expectRebuilt();
  });

  it('a changed size or a deleted file is corrupt; the plain-text run output says so', async () => {
    ws = tempWorkspace();
    let { aDir } = await firstRun();
    tamper(join(aDir, 'data.txt'), 'longer damaged data', false);
    const r = await runPipe(['run', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/corrupt a: d\/data\.txt changed size \(13 -> 19 bytes\); moved to runs\/corrupt\//);
    ({ aDir } = { aDir: JSON.parse((await runPipe(['run', 'p.yaml', '--json'], { cwd: ws.dir })).stdout).instances[0].outputs.d });
    unlinkSync(join(aDir, 'other.txt'));
    const st = await runPipe(['status', 'p.yaml'], { cwd: ws.dir });
    expect(st.stdout).toMatch(/^corrupt\s+a\s+\(d\/other\.txt is missing\)/m);
    const again = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(byStatus(again.doc)).toEqual({ cached: ['b'], ran: ['a'] });
    expect(readdirSync(ws.path('runs/corrupt'))).toHaveLength(2);
  });

  it('same size and mtime: only --verify re-hashes and finds it (status --verify, run --verify)', async () => {
    ws = tempWorkspace();
    const { aDir } = await firstRun();
    tamper(join(aDir, 'data.txt'), 'damaged data!', true);
    expect((await runPipe(['status', 'p.yaml'], { cwd: ws.dir })).stdout).toMatch(/^up to date\s+a$/m);
    expect((await runPipe(['status', 'p.yaml', '--verify'], { cwd: ws.dir })).stdout).toMatch(/^corrupt\s+a\s+\(d\/data\.txt changed content/m);
    await expectRebuilt(['--verify']);
  });

  it('a touched file with the same bytes is not corrupt, and its new mtime is recorded', async () => {
    ws = tempWorkspace();
    const { aDir } = await firstRun();
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(aDir, 'data.txt'), later, later);
    const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(byStatus(r.doc)).toEqual({ cached: ['a', 'b'] });
    expect(existsSync(ws.path('runs/corrupt'))).toBe(false);
    expect(executions()).toEqual(['a', 'b']);
  });
});
