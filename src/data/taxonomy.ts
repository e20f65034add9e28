// Taxonomies are data: one YAML file per taxonomy (classes in head order, display names, the parent map
// to the next coarser taxonomy, settings such as WEBEmo's `confusion`). This module loads and validates
// them and maps labels between levels, so ingest, training, zero-shot evaluation and reports share one
// implementation. Users add a taxonomy by writing a file into a folder given as a stage's `taxonomy_dir`
// (or on PIPE_TAXONOMY_PATH); no code changes.
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { compiledValidator } from '../pipeline/validators.js';
import { dataError } from './errors.js';
import { projectFile } from './project-files.js';

export interface TaxonomyClass {
  /** Class id as the dataset spells it (`cheerfullness`), used in manifests and metrics. */
  readonly id: string;
  /** Display name (`cheerfulness`), used in prompts and tables. */
  readonly name: string;
}

export interface Taxonomy {
  readonly id: string;
  /** Dataset the taxonomy belongs to: `webemo`, `fi`, `iaps`, `emotion6`, `emotionroi`, ... */
  readonly dataset: string;
  readonly description: string;
  /** A positive/negative valence taxonomy: binary taxonomies of different datasets are interchangeable. */
  readonly binary: boolean;
  /** Classes in head order (the order of the YAML file, filtered by the settings). */
  readonly classes: readonly TaxonomyClass[];
  /** Resolved settings of this taxonomy and its coarser levels, e.g. `{ confusion: "sadness" }`. */
  readonly settings: Readonly<Record<string, string>>;
  /** This id, then every coarser level: `[webemo25, webemo6, webemo2]`. */
  readonly levels: readonly string[];
  /** For every coarser level: this taxonomy's class id -> that level's class id. */
  readonly parents: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Taxonomies of other datasets with the same class ids (a head trained on one evaluates on the other). */
  readonly aligned: readonly string[];
  /** The coarser levels, loaded with the same settings. */
  readonly ancestors: readonly Taxonomy[];
  /** The YAML file it was loaded from. */
  readonly file: string;
  /** The extra directories it was loaded with (a stage's `taxonomy_dir`); related taxonomies are looked up there too. */
  readonly dirs: readonly string[];
}

export interface LoadTaxonomyOptions {
  /** WEBEmo's level-2 `confusion` label: mapped to `sadness` (default, 6 classes) or kept as its `own` class. */
  readonly confusion?: 'sadness' | 'own';
  /** Any other settings a taxonomy file declares. Settings a taxonomy does not declare are ignored. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Directories searched before PIPE_TAXONOMY_PATH and the built-in `taxonomies/`. */
  readonly dirs?: readonly string[];
}

type ParentSpec = string | { setting: string; [value: string]: string };
interface ClassSpec {
  id: string;
  name?: string;
  parent?: ParentSpec;
  when?: Record<string, string>;
}
interface SettingSpec {
  description?: string;
  default: string;
  values: string[];
}
interface TaxonomyFile {
  id: string;
  dataset: string;
  description?: string;
  binary?: boolean;
  parent?: string;
  aligned?: string[];
  settings?: Record<string, SettingSpec>;
  classes: ClassSpec[];
}

const ID = '^[a-z0-9][a-z0-9_]*$';
const FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'dataset', 'classes'],
  properties: {
    id: { type: 'string', pattern: ID },
    dataset: { type: 'string', pattern: ID },
    description: { type: 'string' },
    binary: { type: 'boolean' },
    parent: { type: 'string', pattern: ID },
    aligned: { type: 'array', items: { type: 'string', pattern: ID } },
    settings: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['default', 'values'],
        properties: {
          description: { type: 'string' },
          default: { type: 'string' },
          values: { type: 'array', minItems: 1, items: { type: 'string' } },
        },
      },
    },
    classes: {
      type: 'array',
      minItems: 2,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' },
          name: { type: 'string', minLength: 1 },
          parent: {
            oneOf: [
              { type: 'string' },
              { type: 'object', required: ['setting'], additionalProperties: { type: 'string' } },
            ],
          },
          when: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
    },
  },
} as const;

// Compiled on first use and cached across processes (src/pipeline/validators.ts): compiling it at import
// loaded ajv into every process that imports this module, `pipe taxonomy --help` included.
let fileValidator: ValidateFunction<TaxonomyFile> | undefined;
const validateFile = (): ValidateFunction<TaxonomyFile> => (fileValidator ??= compiledValidator(FILE_SCHEMA) as ValidateFunction<TaxonomyFile>);

/** Directories searched for `<id>.yaml`, first match wins. */
export function taxonomyDirs(extra: readonly string[] = []): string[] {
  const fromEnv = (process.env.PIPE_TAXONOMY_PATH ?? '').split(delimiter).filter(Boolean);
  return [...extra, ...fromEnv, projectFile('taxonomies')];
}

function findFile(id: string, dirs: readonly string[]): string {
  if (!new RegExp(ID).test(id)) {
    throw dataError(`taxonomy "${id}"`, 'not a valid taxonomy id', 'Taxonomy ids are lower-case letters, digits and _, e.g. webemo6.');
  }
  for (const dir of dirs) {
    const file = join(dir, `${id}.yaml`);
    if (existsSync(file)) return file;
  }
  throw dataError(
    `taxonomy "${id}"`,
    `no file ${id}.yaml in ${dirs.join(', ')}`,
    'Use a built-in id (webemo25, webemo6, webemo2, fi8, fi2, iaps2, emotion6_6, emotion6_2, emotionroi6, emotionroi2), or write <id>.yaml in a folder given as the stage\'s taxonomy_dir (see docs/datasets.md; check it with `pipe taxonomy <id> --dir DIR`).',
  );
}

function readFile(file: string, id: string): TaxonomyFile {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw dataError(file, `invalid YAML (${(e as Error).message})`);
  }
  const validate = validateFile();
  if (!validate(raw)) {
    const errs = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw dataError(file, `not a valid taxonomy file: ${errs}`, 'See docs/datasets.md#taxonomy-files for the format.');
  }
  if (raw.id !== id) throw dataError(file, `id "${raw.id}" does not match the file name (${id}.yaml)`);
  return raw;
}

function resolveSettings(file: string, spec: TaxonomyFile, given: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, s] of Object.entries(spec.settings ?? {})) {
    const value = given[name] ?? s.default;
    if (!s.values.includes(value)) {
      throw dataError(`${file}: setting ${name}`, `"${value}" is not one of ${s.values.join(', ')}`);
    }
    out[name] = value;
  }
  return out;
}

function parentOf(file: string, c: ClassSpec, settings: Record<string, string>): string | undefined {
  if (c.parent === undefined || typeof c.parent === 'string') return c.parent;
  const setting = c.parent.setting;
  const value = settings[setting];
  if (value === undefined) throw dataError(`${file}: class ${c.id}`, `parent depends on setting "${setting}", which the file does not declare under settings:`);
  const parent = c.parent[value];
  if (parent === undefined) throw dataError(`${file}: class ${c.id}`, `parent has no entry for ${setting}=${value}`);
  return parent;
}

const cache = new Map<string, Taxonomy>();

/**
 * Loads a taxonomy and its coarser levels. `confusion` (and any other setting) applies to the whole
 * chain: `loadTaxonomy('webemo25', { confusion: 'own' })` maps `confusion` to its own level-2 class.
 */
export function loadTaxonomy(id: string, options: LoadTaxonomyOptions = {}): Taxonomy {
  const given: Record<string, string> = { ...options.settings };
  if (options.confusion) given.confusion = options.confusion;
  const dirs = taxonomyDirs(options.dirs);
  const key = JSON.stringify([id, given, dirs]);
  const hit = cache.get(key);
  if (hit) return hit;
  const tax = load(id, given, dirs, options.dirs ?? [], []);
  cache.set(key, tax);
  return tax;
}

/** Another taxonomy (a mapping source or target) with `of`'s settings, from the same directories. */
export function relatedTaxonomy(of: Taxonomy, id: string): Taxonomy {
  return loadTaxonomy(id, { settings: of.settings, dirs: of.dirs });
}

function load(id: string, given: Record<string, string>, dirs: readonly string[], extra: readonly string[], seen: string[]): Taxonomy {
  if (seen.includes(id)) throw dataError(`taxonomy "${id}"`, `parent cycle ${[...seen, id].join(' -> ')}`);
  const file = findFile(id, dirs);
  const spec = readFile(file, id);
  const parent = spec.parent ? load(spec.parent, given, dirs, extra, [...seen, id]) : undefined;
  const settings = { ...(parent?.settings ?? {}), ...resolveSettings(file, spec, given) };

  const active = spec.classes.filter((c) => Object.entries(c.when ?? {}).every(([k, v]) => settings[k] === v));
  const classes: TaxonomyClass[] = [];
  const direct: Record<string, string> = {};
  for (const c of active) {
    if (classes.some((k) => k.id === c.id)) throw dataError(`${file}: class ${c.id}`, 'listed twice');
    classes.push({ id: c.id, name: c.name ?? c.id });
    const p = parentOf(file, c, settings);
    if (parent) {
      if (p === undefined) throw dataError(`${file}: class ${c.id}`, `has no parent, but the taxonomy's parent is ${parent.id}`);
      if (!parent.classes.some((k) => k.id === p)) {
        throw dataError(`${file}: class ${c.id}`, `parent "${p}" is not a class of ${parent.id} (${parent.classes.map((k) => k.id).join(', ')})`);
      }
      direct[c.id] = p;
    } else if (p !== undefined) {
      throw dataError(`${file}: class ${c.id}`, `has parent "${p}" but the file names no parent taxonomy (parent: <id>)`);
    }
  }
  if (spec.binary && !(classes.length === 2 && classes.some((c) => c.id === 'positive') && classes.some((c) => c.id === 'negative'))) {
    throw dataError(file, 'binary: true needs exactly the classes positive and negative');
  }

  const parents: Record<string, Record<string, string>> = {};
  if (parent) {
    parents[parent.id] = direct;
    for (const [level, map] of Object.entries(parent.parents)) {
      parents[level] = Object.fromEntries(Object.entries(direct).map(([c, p]) => [c, map[p]]));
    }
  }
  return Object.freeze({
    id,
    dataset: spec.dataset,
    description: spec.description ?? id,
    binary: spec.binary ?? false,
    classes: Object.freeze(classes),
    settings: Object.freeze(settings),
    levels: Object.freeze([id, ...(parent?.levels ?? [])]),
    parents: Object.freeze(parents),
    aligned: Object.freeze(spec.aligned ?? []),
    ancestors: Object.freeze(parent ? [parent, ...parent.ancestors] : []),
    file,
    dirs: Object.freeze([...extra]),
  });
}

/** Index of a class in head order; throws when the id is not a class of the taxonomy. */
export function classIndex(tax: Taxonomy, classId: string): number {
  const i = tax.classes.findIndex((c) => c.id === classId);
  if (i < 0) throw dataError(`taxonomy ${tax.id}`, `unknown class "${classId}" (classes: ${tax.classes.map((c) => c.id).join(', ')})`);
  return i;
}

/** The class a folder or label name stands for: its id, or its display name, case-insensitively. */
export function findClass(tax: Taxonomy, name: string): TaxonomyClass | undefined {
  const n = name.trim().toLowerCase();
  return tax.classes.find((c) => c.id === name) ?? tax.classes.find((c) => c.id.toLowerCase() === n || c.name.toLowerCase() === n);
}

function interchangeable(a: Taxonomy, b: Taxonomy): boolean {
  return a.aligned.includes(b.id) || b.aligned.includes(a.id) || (a.binary && b.binary);
}

/**
 * Maps a class of `from` to `to`: up the parent chain (webemo25 -> webemo6 -> webemo2, fi8 -> fi2, ...),
 * and across aligned taxonomies of other datasets (webemo6 <-> emotion6_6, any binary <-> any binary).
 * A string `to` is one of `from`'s levels or a taxonomy loaded with `from`'s settings and directories.
 */
export function mapLabel(from: Taxonomy, to: Taxonomy | string, classId: string): string {
  const target =
    typeof to !== 'string' ? to : ([from, ...from.ancestors].find((t) => t.id === to) ?? relatedTaxonomy(from, to));
  classIndex(from, classId);
  for (const level of [from, ...from.ancestors]) {
    const c = level === from ? classId : from.parents[level.id][classId];
    if (level.id === target.id) return c;
    if (interchangeable(level, target)) {
      classIndex(target, c);
      return c;
    }
  }
  throw dataError(
    `mapLabel ${from.id} -> ${target.id}`,
    `${target.id} is neither a coarser level of ${from.id} (${from.levels.join(' -> ')}) nor aligned with one`,
    'Map to a level of the same dataset, or declare `aligned:` in the taxonomy files when the class ids agree.',
  );
}

/** The labels of one `from` class at every level of `from`: `{ webemo25: "optimism", webemo6: "joy", webemo2: "positive" }`. */
export function labelsAtAllLevels(from: Taxonomy, classId: string): Record<string, string> {
  classIndex(from, classId);
  const out: Record<string, string> = { [from.id]: classId };
  for (const level of from.ancestors) out[level.id] = from.parents[level.id][classId];
  return out;
}
