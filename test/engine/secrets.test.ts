// Secrets (`secrets: [NAME]`) reach the command but never a key, the database, a log, `show`, `status` or
// an error; `env:` values, which are part of the key, are stored and shown only hashed.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { filesContaining, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

const SECRET = 'sk-live-Zq8VtT3s1cr3t-4711';
const MODE = 'mode-in-clear-0815';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

// `call` proves it received the secret by writing its sha256; both stages print it to stdout and stderr.
const PIPELINE = `
stages:
  call:
    run: [node, -e, "const t = process.env.API_TOKEN; console.log('token', t); console.error('stderr', t); require('fs').writeFileSync(process.argv[1], require('crypto').createHash('sha256').update(t).digest('hex'))", "\${outs.o}"]
    secrets: [API_TOKEN]
    env: { MODE: "\${env.PIPE_TEST_MODE}" }
    outs: { o: o.txt }
  fail:
    run: [node, -e, "console.log('about to fail with', process.env.API_TOKEN); process.exit(3)"]
    secrets: [API_TOKEN]
`;

describe('secrets', () => {
  it('hands the secret to the command, and neither it nor an env: value appears anywhere in clear', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    const env = { API_TOKEN: SECRET, PIPE_TEST_MODE: MODE };
    const run = await runPipe(['run', 'p.yaml', '--keep-going'], { cwd: ws.dir, env });
    expect(run.exitCode).toBe(1); // `fail` failed; its log tail is printed, masked
    expect(run.all).toContain('about to fail with ***');
    const json = await runPipeJson(['run', 'p.yaml', '--keep-going'], { cwd: ws.dir, env });
    const call = json.doc.instances.find((i) => i.id === 'call')!;
    expect(readFileSync(call.outputs!.o, 'utf8')).toBe(createHash('sha256').update(SECRET).digest('hex'));
    expect(readFileSync(ws.path('runs/logs/1/call.log'), 'utf8')).toMatch(/token \*\*\*\n[^]*stderr \*\*\*/);

    const printed = [run.all, JSON.stringify(json.doc), json.stderr];
    for (const args of [['show', 'call'], ['show', 'call', '--json'], ['show', '1'], ['show', 'fail'], ['runs', '--json']])
      printed.push((await runPipe(args, { cwd: ws.dir, env })).all);
    // A changed env: value is stale, named and shown hashed, in status and in --dry-run reasons.
    const changed = { ...env, PIPE_TEST_MODE: `${MODE}-2` };
    const status = await runPipe(['status', 'p.yaml'], { cwd: ws.dir, env: changed });
    expect(status.stdout).toMatch(/env\s+MODE: sha256:[0-9a-f]{12} -> sha256:[0-9a-f]{12}/);
    const dry = await runPipe(['run', 'p.yaml', '--dry-run', '--json'], { cwd: ws.dir, env: changed });
    expect(dry.stdout).toMatch(/env MODE: sha256:[0-9a-f]{12} -> sha256:[0-9a-f]{12}/);
    printed.push(status.all, dry.all, (await runPipe(['status', 'p.yaml', '--json'], { cwd: ws.dir, env: changed })).all);

    for (const text of printed) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(MODE);
    }
    // The whole workspace, runs/pipe.db and its WAL included.
    expect(filesContaining(ws.dir, [SECRET, MODE])).toEqual([]);
  });

  it('a missing secret fails the stage before its command starts, naming the variable', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    const r = await runPipeJson(['run', 'p.yaml', '--only', 'call'], { cwd: ws.dir, env: { PIPE_TEST_MODE: MODE } });
    expect(r.exitCode).toBe(1);
    expect(r.doc.instances[0]).toMatchObject({ id: 'call', status: 'failed', error: 'secret API_TOKEN is not set in the environment' });
    expect(readFileSync(ws.path(r.doc.instances[0].log!), 'utf8')).not.toContain('token');
  });

  it('refuses a secret that would also enter a key through ${env...} or env:', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
stages:
  a:
    run: [echo, "\${env.API_TOKEN}"]
    secrets: [API_TOKEN]
  b:
    run: [echo]
    env: { API_TOKEN: x }
    secrets: [API_TOKEN]
`);
    const r = await runPipe(['validate', 'p.yaml'], { cwd: ws.dir, env: { API_TOKEN: SECRET } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('p.yaml:4:17: error: stages.a.run[1]: ${env.API_TOKEN} names a secret');
    expect(r.stderr).toContain('p.yaml:8:12: error: stages.b.env.API_TOKEN: API_TOKEN is declared a secret');
    expect(r.stderr).not.toContain(SECRET);
  });
});
