// The data stage kinds through the real `pipe` CLI (subprocess, real store): synthetic data -> ingest of
// all five layouts -> captions (imported, and from an external captioner command) -> synonyms -> prompts;
// cached re-runs; a re-ingest after adding one file re-reads one file; errors reach the user with the
// expected layout; generated synonyms never leak the key.
import { copyFileSync, cpSync, readdirSync, readFileSync, utimesSync, writeFileSync, renameSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestRow, PromptRow } from '../../src/formats.js';
import { readManifestSummary, type IngestSummary } from '../../src/data/manifest.js';
import { readJsonl } from '../../src/io/jsonl.js';
import { openStore } from '../../src/store/index.js';
import { byStatus, REPO_ROOT, runPipe, runPipeJson, tempWorkspace, type RunDoc } from '../support/index.js';

const ws = tempWorkspace('pipe-data-stages-');
afterAll(() => ws.cleanup());

const PIPELINE = `
description: data stages
params:
  tools: ${join(REPO_ROOT, 'tools')}
stages:
  data:
    uses: demo/synthetic-data
    with: { seed: 1, sizes: { webemo: 150, fi: 32, emotion6: 24, emotionroi: 24, iaps: 16 }, missing_url_fraction: 0.05 }
  webemo:
    uses: ingest/webemo
    with: { root: "\${stages.data.outputs.webemo}", val_fraction: 0.2 }
  webemo-own:
    uses: ingest/webemo
    with: { root: "\${stages.data.outputs.webemo}", confusion: own }
  fi:
    uses: ingest/folder-per-class
    with: { root: "\${stages.data.outputs.fi}", layout: fi }
  emotion6:
    uses: ingest/folder-per-class
    with: { root: "\${stages.data.outputs.emotion6}", layout: emotion6 }
  emotionroi:
    uses: ingest/folder-per-class
    with: { root: "\${stages.data.outputs.emotionroi}", layout: emotionroi }
  iaps:
    uses: ingest/folder-per-class
    with: { root: "\${stages.data.outputs.iaps}", layout: iaps, ratings: "\${stages.data.outputs.iaps}/ratings.txt" }
  captions:
    uses: captions/import
    with: { manifest: "\${stages.webemo.outputs.manifest}", file: "\${stages.data.outputs.captions}" }
  caption:
    run: [node, "\${params.tools}/colour-captioner.mjs", --manifest, "\${stages.webemo.outputs.manifest}", --out, "\${outs.captions}"]
    deps: ["\${params.tools}/colour-captioner.mjs"]
    outs: { captions: captions.jsonl }
  captions-cmd:
    uses: captions/import
    with: { manifest: "\${stages.webemo.outputs.manifest}", file: "\${stages.caption.outputs.captions}" }
  synonyms:
    uses: synonyms/table
  prompts:
    uses: prompts/build
    with:
      taxonomies: [webemo25, webemo6, webemo2, fi8, emotion6_6, emotionroi6, iaps2]
      synonyms: "\${stages.synonyms.outputs.synonyms}"
      captions: "\${stages.captions.outputs.captions}"
`;

const out = (doc: RunDoc, id: string, name: string): string => {
  const o = doc.instances.find((i) => i.id === id)?.outputs?.[name];
  if (!o) throw new Error(`no output ${name} of ${id}`);
  return o;
};
const summary = (doc: RunDoc, id: string): IngestSummary => JSON.parse(readFileSync(out(doc, id, 'summary'), 'utf8')) as IngestSummary;

describe('data stages through pipe run', () => {
  let doc: RunDoc;
  beforeAll(async () => {
    ws.write('data.yaml', PIPELINE);
    const r = await runPipeJson(['run', 'data.yaml'], { cwd: ws.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    doc = r.doc;
  });

  it('ingests all five layouts and builds SC/SSC/IC prompts', async () => {
    expect(byStatus(doc).ran).toHaveLength(12);
    const w = summary(doc, 'webemo');
    expect(w.settings).toEqual({ confusion: 'sadness' });
    expect(w.images + w.missing.length).toBe(150);
    expect(w.splits.val).toBeGreaterThan(0);
    expect(summary(doc, 'webemo-own').counts.webemo6.train).toHaveProperty('confusion');
    expect(summary(doc, 'fi').images).toBe(32);
    expect(summary(doc, 'emotion6').extra).toHaveProperty('secondary_folders');
    expect(summary(doc, 'emotionroi').splits).toMatchObject({ train: expect.any(Number), test: expect.any(Number) });
    expect(summary(doc, 'iaps').layout).toBe('iaps-ratings');
    expect(readManifestSummary(out(doc, 'webemo-own', 'manifest')).settings).toEqual({ confusion: 'own' });
    const rows = readJsonl<ManifestRow>(out(doc, 'webemo', 'manifest'));
    expect(rows[0].labels).toHaveProperty('webemo2');
    const prompts = readJsonl<PromptRow>(out(doc, 'prompts', 'prompts'));
    const count = (k: string) => prompts.filter((p) => p.kind === k).length;
    expect(count('sc')).toBe(25 + 6 + 2 + 8 + 6 + 6 + 2);
    expect(count('ssc')).toBe(125);
    expect(count('ic')).toBe(w.images);
    const coverage = JSON.parse(readFileSync(out(doc, 'captions', 'coverage'), 'utf8')) as { extra: number };
    expect(coverage.extra).toBe(w.missing.length); // captions of the dead URLs match no image
    // The external captioner's output, imported with the default policy (every image captioned).
    const cmd = readJsonl<{ id: string; text: string }>(out(doc, 'captions-cmd', 'captions'));
    expect(cmd).toHaveLength(w.images);
    expect(cmd[0].text).toMatch(/^a photo that contains a (bright|dark) [a-z]+ pattern of stripes with a round shape$/);
  });

  it('a second run restores everything from the cache', async () => {
    const r = await runPipeJson(['run', 'data.yaml'], { cwd: ws.dir });
    expect(byStatus(r.doc).cached).toHaveLength(12);
  });

  it('re-ingest after adding one file re-reads that file only', async () => {
    cpSync(out(doc, 'data', 'fi'), ws.path('fi'), { recursive: true });
    const files = () => readdirSync(ws.path('fi'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    const pin = (p: string) => utimesSync(p, 1_700_000_000, 1_700_000_000);
    files().forEach(pin);
    ws.write('fi.yaml', 'stages:\n  fi:\n    uses: ingest/folder-per-class\n    with: { root: fi, layout: fi }\n');
    const first = await runPipeJson(['run', 'fi.yaml'], { cwd: ws.dir });
    expect(first.exitCode, first.stderr).toBe(0);
    const store = () => openStore(ws.path('runs/pipe.db'));
    const datasetRows = () => store().hashRows('file').filter((r) => r.path.startsWith(ws.path('fi') + '/')).length;
    const hashRows = datasetRows();
    const before = new Map(readJsonl<ManifestRow>(out(first.doc, 'fi', 'manifest')).map((r) => [r.id, r.hash]));
    // New bytes under the same (inode, size, mtime): only a re-read could notice.
    for (const p of files()) {
      const b = readFileSync(p);
      b[b.length - 3] ^= 0xff;
      writeFileSync(p, b);
      pin(p);
    }
    copyFileSync(join(ws.path('fi'), 'emotion_dataset', 'awe', readdirSync(join(ws.path('fi'), 'emotion_dataset', 'awe'))[0]), ws.path('fi/emotion_dataset/awe/added.jpg'));
    pin(ws.path('fi/emotion_dataset/awe/added.jpg')); // a file modified just now is "racily clean": not kept in the cache
    const second = await runPipeJson(['run', 'fi.yaml'], { cwd: ws.dir });
    expect(byStatus(second.doc).ran).toEqual(['fi']);
    const after = readJsonl<ManifestRow>(out(second.doc, 'fi', 'manifest'));
    expect(after).toHaveLength(before.size + 1);
    expect(after.filter((r) => before.get(r.id) === r.hash)).toHaveLength(before.size);
    expect(datasetRows()).toBe(hashRows + 1);
  });

  it('ingest/manifest: a table of paths; replacing a listed image re-runs the stage', async () => {
    const fi = out(doc, 'data', 'fi');
    const [a, b] = readdirSync(join(fi, 'emotion_dataset', 'awe'));
    ws.write('table/a.jpg', readFileSync(join(fi, 'emotion_dataset', 'awe', a)));
    ws.write('table/list.csv', 'path,label,split\na.jpg,Awe,train\n');
    ws.write('table.yaml', 'stages:\n  t:\n    uses: ingest/manifest\n    with: { file: table/list.csv, taxonomy: fi8 }\n');
    const first = await runPipeJson(['run', 'table.yaml'], { cwd: ws.dir });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(readJsonl<ManifestRow>(out(first.doc, 't', 'manifest'))[0]).toMatchObject({ id: 'a', split: 'train', labels: { fi8: 'awe', fi2: 'positive' } });
    expect(byStatus((await runPipeJson(['run', 'table.yaml'], { cwd: ws.dir })).doc).cached).toEqual(['t']);
    copyFileSync(join(fi, 'emotion_dataset', 'awe', b), ws.path('table/a.jpg'));
    const third = await runPipeJson(['run', 'table.yaml'], { cwd: ws.dir });
    expect(byStatus(third.doc).ran).toEqual(['t']);
    expect(readJsonl<ManifestRow>(out(third.doc, 't', 'manifest'))[0].hash).not.toBe(readJsonl<ManifestRow>(out(first.doc, 't', 'manifest'))[0].hash);
  });

  it('a bad layout fails the stage with the message and the expected layout', async () => {
    // Its own copy of the generated FI with one class folder misnamed.
    cpSync(out(doc, 'data', 'fi'), ws.path('bad-fi'), { recursive: true });
    renameSync(ws.path('bad-fi/emotion_dataset/awe'), ws.path('bad-fi/emotion_dataset/wonder'));
    ws.write('bad-fi.yaml', 'stages:\n  fi:\n    uses: ingest/folder-per-class\n    with: { root: bad-fi, layout: fi }\n');
    const r = await runPipe(['run', 'bad-fi.yaml'], { cwd: ws.dir });
    expect(r.exitCode).toBe(1);
    const text = r.stdout + r.stderr;
    expect(text).toContain(`${ws.path('bad-fi/emotion_dataset/wonder')}: "wonder" is not a class of fi8 (amusement, anger, awe, contentment, disgust, excitement, fear, sadness)`);
    expect(text).toContain('<root>/emotion_dataset/<class>/*.jpg');
  });
});

describe('synonyms/table generation through pipe run', () => {
  const KEY = 'sk-live-DO-NOT-LEAK-42';
  let server: Server;
  let calls = 0;
  beforeAll(async () => {
    const table = readFileSync(new URL('../../data/synonyms/webemo.yaml', import.meta.url), 'utf8');
    const { parse } = await import('yaml');
    const synonyms = (parse(table) as { synonyms: unknown }).synonyms;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        calls++;
        if (req.headers.authorization !== `Bearer ${KEY}`) {
          res.writeHead(401).end('{"error":{"message":"bad key"}}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: JSON.stringify(synonyms) } }] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('requests once, caches, and the key appears nowhere in the workspace', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const g = tempWorkspace('pipe-syn-');
    try {
      g.write('syn.yaml', `stages:\n  syn:\n    uses: synonyms/table\n    with:\n      generate: { base_url: "${url}", model: local-model, api_key_env: MY_LLM_KEY }\n`);
      const env = { MY_LLM_KEY: KEY };
      const r1 = await runPipeJson(['run', 'syn.yaml', '--verbose'], { cwd: g.dir, env });
      expect(r1.exitCode, r1.stderr).toBe(0);
      const t = JSON.parse(readFileSync(out(r1.doc, 'syn', 'synonyms'), 'utf8')) as { source: string; model: string; prompt: string };
      expect(t).toMatchObject({ source: 'generated', model: 'local-model' });
      expect(t.prompt).toContain('cheerfullness: cheerfulness');
      const r2 = await runPipeJson(['run', 'syn.yaml'], { cwd: g.dir, env });
      expect(byStatus(r2.doc).cached).toEqual(['syn']);
      expect(calls).toBe(1);
      const forced = await runPipeJson(['run', 'syn.yaml', '--force'], { cwd: g.dir, env });
      expect(byStatus(forced.doc).ran).toEqual(['syn']);
      expect(calls).toBe(1); // the kind cache answers: a generated table is never re-requested
      // A wrong key (another model, so no cached answer): HTTP 401, named by variable, not by value.
      g.write('syn.yaml', readFileSync(g.path('syn.yaml'), 'utf8').replace('local-model', 'other-model'));
      const bad = await runPipe(['run', 'syn.yaml'], { cwd: g.dir, env: { MY_LLM_KEY: 'wrong-key-XYZ' } });
      expect(bad.exitCode).toBe(1);
      expect(calls).toBe(2);
      expect(bad.stdout + bad.stderr).toContain(`/v1/chat/completions: the server rejected the API key from MY_LLM_KEY (HTTP 401)`);
      const leaks = readdirSync(g.dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .filter((e) => readFileSync(join(e.parentPath, e.name)).includes(KEY) || readFileSync(join(e.parentPath, e.name)).includes('wrong-key-XYZ'));
      expect(leaks.map((e) => e.name)).toEqual([]);
      expect(r1.stderr + JSON.stringify(r1.doc) + bad.stdout + bad.stderr).not.toMatch(/sk-live|wrong-key-XYZ/);
    } finally {
      g.cleanup();
    }
  });
});
