import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCells } from '../../src/report/cells.js';
import { buildFigures } from '../../src/report/figures.js';
import { formatCell, MISSING } from '../../src/report/markdown.js';
import { loadPaperResults, PaperResultsError } from '../../src/report/paper.js';
import { writeReport } from '../../src/report/report.js';
import type { StudyMetric } from '../../src/formats.js';
import { DATASET, row, TABLE1, TABLE2, trained } from './fixtures.js';
import { writeFileSync } from 'node:fs';

const seeds = [0, 1, 2];
const HEADS = ['clipe_cross_entropy', 'clipe_contrastive', 'clipe_contrastive_sc', 'clipe_contrastive_ic', 'clipe_contrastive_sc_ic', 'clipe_contrastive_sc_ssc'];

/** A whole study's rows: CE cannot express Emotion-ROI 6 and FI 8 (null), everything else has numbers. */
function study(): StudyMetric[] {
  const rows: StudyMetric[] = [];
  for (const tax of [...TABLE1, ...TABLE2]) {
    rows.push(row('random', tax, null, null, 0.2), row('most_represented_class', tax, null, null, 0.3), row('clip_zero_shot', tax, null, null, 0.4));
    HEADS.forEach((m, i) => {
      const uncomputable = m === 'clipe_cross_entropy' && (tax === 'emotionroi6' || tax === 'fi8');
      rows.push(...trained(m, tax, seeds, () => 4, (s, e) => (uncomputable ? null : 0.45 + i * 0.02 + e * 0.01 + s * 0.001)));
    });
  }
  for (const m of ['clipe_cross_entropy', 'clipe_contrastive']) {
    for (const s of seeds) {
      rows.push({ method: m, dataset: DATASET.webemo6, taxonomy: 'webemo6', seed: s, epoch: 4, metric: 'confusion', value: 27, detail: { labels: ['anger', 'fear', 'joy'], matrix: [[5, 1, 0], [2, 3, 1], [0, 0, 9]] } });
    }
  }
  return rows.map((r) => (r.metric === 'accuracy' && r.method.startsWith('clipe_') ? { ...r, tags: { confusion: 'sadness' } } : r));
}

const dir = mkdtempSync(join(tmpdir(), 'pipe-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cell text', () => {
  it('prints mean ± std, X, the missing dash, best in bold and second best with *', () => {
    const cells = buildCells(study(), { mode: 'final' });
    const text = (m: string, t: string, mode: 'final' | 'best' = 'final'): string => formatCell(cells.find((c) => c.method === m && c.taxonomy === t)!, mode);
    expect(text('clipe_contrastive_sc_ssc', 'webemo2')).toBe('**59.10 ± 0.10**');
    expect(text('clipe_contrastive_sc_ic', 'webemo2')).toBe('57.10 ± 0.10*');
    expect(text('clip_zero_shot', 'webemo2')).toBe('40.00');
    expect(text('clipe_cross_entropy', 'fi8')).toBe('X');
    const none = buildCells([], { mode: 'final' })[0];
    expect(formatCell(none, 'final')).toBe(MISSING);
    const best = buildCells(study(), { mode: 'best' }).find((c) => c.method === 'clipe_contrastive' && c.taxonomy === 'fi2')!;
    expect(formatCell(best, 'best')).toBe('51.10 ± 0.10 (e4)');
  });
});

const paths = { tables: join(dir, 'tables.md'), csv: join(dir, 'cells.csv'), json: join(dir, 'cells.json'), figures: join(dir, 'figures'), report: join(dir, 'report.md') };
const doc = await writeReport(
  { rows: study(), provenance: { rendered_by: 'test', run: 'r1', params: { seeds }, sources: '1 file' }, date: new Date('2026-01-02T03:04:05Z') },
  paths,
);
const md = readFileSync(paths.tables, 'utf8');
describe('writeReport', () => {

  it('renders Table I and II with the paper rows and columns for both epoch renderings', () => {
    for (const mode of ['final', 'best']) {
      expect(md).toContain(`### Table I: trained and tested on WEBEmo (${mode} epoch)\n\n| Model | 2 cat | 6 cat | 25 cat |`);
      expect(md).toContain(`### Table II: trained on WEBEmo, tested on other datasets (${mode} epoch)\n\n| Model | IAPS | Emotion-6 2 Cat | Emotion-6 6 Cat | EmotionROI 2 Cat | EmotionROI 6 Cat | FI 2 Cat | FI 8 Cat |`);
    }
    const ceLine = md.split('\n').find((l) => l.startsWith('| CLIP-E Cross-Entropy | ') && l.split('|').length === 10)!;
    expect(ceLine.split('|').map((s) => s.trim()).slice(6, 9)).toEqual(['X', expect.stringMatching(/^\d+\.\d\d ± \d+\.\d\d$/), 'X']);
    expect(md).toContain('| *CLIP-E Contrastive Ablation* |');
  });

  it('has the comparison with published values, including the other publications, and a provenance footer', () => {
    expect(md).toContain('| Panda et al. 2018 | 81.41 | – | – |');
    expect(md).toMatch(/\| CLIP-E Cross-Entropy \| 80\.02 \(−\d+\.\d\d\) \| 56\.42 \(−/);
    expect(md).toContain('| CLIP-E Cross-Entropy | 85.32 (');
    expect(md).toContain('- run: r1');
    expect(md).toContain('- date: 2026-01-02T03:04:05.000Z');
    expect(md).toContain('- taxonomy_choices: `{"confusion":["sadness"]}`');
    expect(md).toMatch(/- code_version: pipe 0\.1\.0/);
  });

  it('writes CSV and JSON of the same cells', () => {
    const csv = readFileSync(paths.csv, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('table,epoch_mode,metric,method,variant,label,column,dataset,taxonomy,status,n,mean,std,rank,paper,diff,values,seeds,epochs');
    expect(csv).toHaveLength(1 + 2 * 90);
    expect(csv.filter((l) => l.includes(',x,'))).toHaveLength(4); // CE on EmotionROI 6 and FI 8, final and best
    const json = JSON.parse(readFileSync(paths.json, 'utf8')) as { final: { mean: number | null }[]; provenance: { run: string } };
    expect(json.final.map((c) => c.mean)).toEqual(doc.cells.final.map((c) => c.mean));
    expect(json.provenance.run).toBe('r1');
  });

  it('draws a curve per table column and the confusion matrices, linked from report.md', () => {
    const files = readdirSync(paths.figures).sort();
    expect(files).toContain('curves-webemo25.svg');
    expect(files).toContain('curves-fi8.svg');
    expect(files).toContain('confusion-clipe_cross_entropy-webemo6.svg');
    expect(files.filter((f) => f.startsWith('curves-'))).toHaveLength(10);
    const report = readFileSync(paths.report, 'utf8');
    for (const f of files) {
      expect(report).toContain(`](figures/${f})`);
      expect(existsSync(join(paths.figures, f))).toBe(true);
    }
    const curve = readFileSync(join(paths.figures, 'curves-fi8.svg'), 'utf8');
    // FI 8: CE not computable, so 5 contrastive curves; 3 untrained levels, dashed.
    for (const m of ['CLIP-E Contrastive [SC]', 'CLIP Zero-Shot', 'Random']) expect(curve).toContain(m);
    expect(curve).not.toContain('CLIP-E Cross-Entropy');
    const conf = readFileSync(join(paths.figures, 'confusion-clipe_contrastive-webemo6.svg'), 'utf8');
    expect(conf).toContain('true fear, predicted joy: 3 (16.7%)');
  });
});

describe('figures', () => {
  it('rejects a malformed confusion detail with the row it came from', () => {
    const bad: StudyMetric = { method: 'clipe_contrastive', dataset: 'webemo', taxonomy: 'webemo2', seed: 0, epoch: 1, metric: 'confusion', value: 3, detail: { labels: ['a'], matrix: [[1, 2]] } };
    expect(() => buildFigures([bad])).toThrow(/clipe_contrastive\/webemo2 seed 0 epoch 1: confusion detail/);
  });
});

describe('paper results', () => {
  it('reads the published tables', () => {
    const p = loadPaperResults();
    expect(p.get('table1')!.rows.get('mdan_2022')!.get('cat25')).toBe(34.28);
    expect(p.get('table2')!.rows.get('clipe_cross_entropy')!.get('fi_cat8')).toBe('X');
  });
  it('fails on a file whose columns do not match the layout', () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'table1_webemo: { columns: [cat6, cat2, cat25], rows: {} }\n');
    expect(() => loadPaperResults(f)).toThrow(PaperResultsError);
  });
});

describe('other metrics', () => {
  it('tabulates macro F1 in the same layout, without the accuracy-only paper comparison', async () => {
    const rows = study().flatMap((r) => (r.metric === 'accuracy' ? [r, { ...r, metric: 'macro_f1', value: r.value === null ? null : r.value / 2 }] : [r]));
    const out = join(dir, 'f1');
    const paths = { tables: join(out, 'tables.md'), csv: join(out, 'cells.csv'), json: join(out, 'cells.json'), figures: join(out, 'figures'), report: join(out, 'report.md') };
    const doc = await writeReport({ rows, metric: 'macro_f1', provenance: { rendered_by: 'test', sources: 'test' } }, paths);
    const md = readFileSync(paths.tables, 'utf8');
    expect(md).toContain('# CLIP-E reproduction: Tables I and II (Macro F1)');
    expect(md).toContain('Macro F1 (%), mean ± sample std');
    expect(md).not.toContain('published values');
    expect(doc.cells.final.every((c) => c.paper === null)).toBe(true);
    expect(readdirSync(paths.figures)).toContain('curves-macro_f1-fi2.svg');
    await expect(writeReport({ rows, metric: 'loss', provenance: { rendered_by: 'test', sources: 'test' } }, paths)).rejects.toThrow(/cannot tabulate metric "loss"/);
  });
});

describe('prompt protocols and weights', () => {
  it("labels a variant protocol's rows as extra rows, names each protocol and the weights in the footnotes", async () => {
    const tagged = study().map((r) => (r.method.startsWith('clipe_contrastive') && r.metric === 'accuracy' ? { ...r, tags: { ...r.tags, prompts: 'paper' } } : r));
    const own = tagged.filter((r) => r.method === 'clipe_contrastive' && r.metric === 'accuracy').map((r) => ({ ...r, value: r.value! - 0.3, tags: { ...r.tags, prompts: 'own', variant: 'prompts=own' } }));
    const out = join(dir, 'variants');
    const paths = { tables: join(out, 'tables.md'), csv: join(out, 'cells.csv'), json: join(out, 'cells.json'), figures: join(out, 'figures'), report: join(out, 'report.md') };
    const doc = await writeReport({ rows: [...tagged, ...own], provenance: { rendered_by: 'test', sources: 'test' } }, paths);
    const md = readFileSync(paths.tables, 'utf8');
    const lines = md.split('\n');
    // The paper's row keeps its values and the published comparison; the variant row sits right below it.
    const at = lines.findIndex((l) => l.startsWith('| CLIP-E Contrastive | ') && l.split('|').length === 6);
    expect(lines[at + 1]).toMatch(/^\| CLIP-E Contrastive \(prompts=own\) \| 21\.\d\d ± 0\.10 \|/);
    expect(lines[at]).toMatch(/^\| CLIP-E Contrastive \| 51\.\d\d ± 0\.10 \|/);
    const variantCell = doc.cells.final.find((c) => c.method === 'clipe_contrastive' && c.variant === 'prompts=own' && c.taxonomy === 'webemo2')!;
    expect(variantCell.paper).toBeNull();
    expect(md).not.toMatch(/published values[^#]*CLIP-E Contrastive \(prompts=own\)/);
    expect(md).toContain("CLIP-E Contrastive, CLIP-E Contrastive [SC], CLIP-E Contrastive [IC], CLIP-E Contrastive [SC, IC], CLIP-E Contrastive [SC, SSC]: prompts=paper (the paper's inference (section III-A)");
    expect(md).toContain('the weights of the last epoch trained');
    expect(md).toContain('not the early-stopping `head-best` (lowest validation loss)');
    expect(readFileSync(paths.csv, 'utf8')).toContain(',clipe_contrastive,prompts=own,CLIP-E Contrastive (prompts=own),');
  });
});
