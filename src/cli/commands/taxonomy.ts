// `pipe taxonomy [ID...]`: lists the taxonomies stages can use (--dir as a stage's `taxonomy_dir`,
// PIPE_TAXONOMY_PATH, built-in), or shows classes, display names and parents at every level of the given
// ones, validating their files: the check to run after writing a new taxonomy file.
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { EXIT_FAILED, EXIT_OK, guard, parse } from '../common.js';
import { StageError } from '../../stage-api.js';
import { loadTaxonomy, taxonomyDirs, type Taxonomy } from '../../data/taxonomy.js';

const USAGE = 'usage: pipe taxonomy [ID...] [--confusion sadness|own] [--dir DIR] [--json]';
const OPTIONS = { confusion: { type: 'string' }, dir: { type: 'string' }, json: { type: 'boolean' } } as const;

function describe(t: Taxonomy): string {
  const levels = t.levels.slice(1);
  const header = [`${t.id}: ${t.description} (dataset ${t.dataset}, ${t.classes.length} classes${levels.length ? `, -> ${levels.join(' -> ')}` : ''})`];
  if (Object.keys(t.settings).length) header.push(`  settings: ${Object.entries(t.settings).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  header.push(`  file: ${t.file}`);
  const rows = t.classes.map((c, i) => {
    const name = c.name === c.id ? '' : ` (${c.name})`;
    const parents = levels.map((l) => t.parents[l][c.id]).join(' -> ');
    return `  ${String(i).padStart(2)}  ${(c.id + name).padEnd(32)}${parents ? ` -> ${parents}` : ''}`;
  });
  return [...header, ...rows].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    const dirs = values.dir ? [resolve(values.dir)] : [];
    const ids = positionals.length
      ? positionals
      : [...new Set(taxonomyDirs(dirs).filter(existsSync).flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5))))].sort();
    const settings: Record<string, string> = values.confusion ? { confusion: values.confusion } : {};
    const loaded: Taxonomy[] = [];
    let failed = 0;
    for (const id of ids) {
      try {
        loaded.push(loadTaxonomy(id, { settings, dirs }));
      } catch (e) {
        if (!(e instanceof StageError)) throw e;
        failed++;
        process.stderr.write(`error: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
      }
    }
    if (values.json) {
      const docs = loaded.map((t) => ({ id: t.id, dataset: t.dataset, description: t.description, binary: t.binary, settings: t.settings, levels: t.levels, classes: t.classes, parents: t.parents, aligned: t.aligned, file: t.file }));
      process.stdout.write(`${JSON.stringify(docs, null, 2)}\n`);
    } else if (positionals.length) {
      process.stdout.write(`${loaded.map(describe).join('\n\n')}\n`);
    } else {
      for (const t of loaded) process.stdout.write(`${t.id.padEnd(14)} ${String(t.classes.length).padStart(3)} classes  ${t.levels.slice(1).join(' -> ').padEnd(22)} ${t.file}\n`);
    }
    return failed ? EXIT_FAILED : EXIT_OK;
  });
}
