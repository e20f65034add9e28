// Reading the inputs of training and evaluation: an embedding matrix with its id index, a dataset
// manifest, and the labels of one split under one taxonomy.
import { readJsonl } from '../io/jsonl.js';
import { readMatrix, readMatrixRows, readNpyHeader } from '../io/npy.js';
import type { EmbeddingIndexRow, ManifestRow } from '../formats.js';
import { dataError } from '../data/errors.js';
import { classIndex, mapLabel, relatedTaxonomy, type Taxonomy } from '../data/taxonomy.js';

/** The row of every id of an embedding matrix (`index.jsonl`) and the matrix's shape, not its values. */
export interface EmbeddingIndex {
  readonly dim: number;
  readonly rows: number;
  readonly rowOf: ReadonlyMap<string, number>;
  readonly file: string;
}

/** An embedding matrix [rows, dim] and the row of every id (`embeddings.npy` + `index.jsonl`). */
export interface EmbeddingTable extends EmbeddingIndex {
  readonly data: Float32Array;
}

export function loadEmbeddingIndex(embeddings: string, index: string): EmbeddingIndex {
  const { dtype, shape } = readNpyHeader(embeddings);
  if (dtype !== 'float32' || shape.length !== 2) throw dataError(embeddings, `expected a 2-D float32 matrix, found ${dtype} [${shape}]`, 'Use the embeddings output of clip/embed-images or clip/embed-texts.');
  const rowOf = new Map<string, number>();
  for (const r of readJsonl<EmbeddingIndexRow>(index)) {
    if (!Number.isInteger(r.row) || r.row < 0 || r.row >= shape[0]) {
      throw dataError(index, `row ${r.row} of id "${r.id}" is outside ${embeddings} (${shape[0]} rows)`, 'The index and the matrix must come from the same embedding stage output.');
    }
    rowOf.set(r.id, r.row);
  }
  return { dim: shape[1], rows: shape[0], rowOf, file: embeddings };
}

/** The whole matrix in memory (training reads every row each epoch). */
export function loadEmbeddingTable(embeddings: string, index: string): EmbeddingTable {
  return { ...loadEmbeddingIndex(embeddings, index), data: readMatrix(embeddings).data };
}

/**
 * The given rows as one contiguous [rows.length, dim] matrix, read from the file: evaluation and prompt
 * tables hold the rows they use, not the whole matrix beside them.
 */
export function readEmbeddingRows(table: EmbeddingIndex, rows: ArrayLike<number>): Float32Array {
  return readMatrixRows(table.file, rows);
}

/** Images of one split with their class index under a taxonomy and their embedding row. */
export interface LabelledSplit {
  readonly ids: readonly string[];
  readonly rows: Uint32Array;
  readonly labels: Int32Array;
  /** Images of the split without an embedding (unreadable files `clip/embed-images` left out). */
  readonly missing: number;
}

/**
 * The class of a manifest row under `tax`. A finer label of the same hierarchy wins, re-mapped under
 * `tax`'s settings (a manifest written with confusion -> sadness still trains a `confusion: own` head
 * correctly); then the row's own label for `tax`; then any label that maps across (webemo6 -> aligned
 * emotion6_6, binary -> binary).
 */
function labelOf(row: ManifestRow, tax: Taxonomy, resolve: (id: string) => Taxonomy | null): string | undefined {
  const others: [Taxonomy, string][] = [];
  for (const [tid, cls] of Object.entries(row.labels)) {
    if (tid === tax.id) continue;
    const from = resolve(tid);
    if (!from) continue;
    if (from.levels.includes(tax.id)) return mapLabel(from, tax, cls);
    others.push([from, cls]);
  }
  const own = row.labels[tax.id];
  if (own !== undefined) return own;
  for (const [from, cls] of others) {
    try {
      return mapLabel(from, tax, cls);
    } catch {
      // Not mappable from this taxonomy; try the row's next label.
    }
  }
  return undefined;
}

export function labelledSplit(manifestPath: string, manifest: readonly ManifestRow[], table: EmbeddingIndex, tax: Taxonomy, split: string): LabelledSplit {
  const ids: string[] = [];
  const rows: number[] = [];
  const labels: number[] = [];
  let missing = 0;
  let example = '';
  const known = new Map<string, Taxonomy | null>();
  const resolve = (id: string): Taxonomy | null => {
    if (!known.has(id)) {
      try {
        known.set(id, relatedTaxonomy(tax, id));
      } catch {
        known.set(id, null); // a taxonomy this installation does not know: not usable for mapping
      }
    }
    return known.get(id) ?? null;
  };
  for (const r of manifest) {
    if (r.split !== split) continue;
    const row = table.rowOf.get(r.id);
    if (row === undefined) {
      missing++;
      example ||= r.id;
      continue;
    }
    const cls = labelOf(r, tax, resolve);
    if (cls === undefined) {
      throw dataError(`${manifestPath}: image ${r.id}`, `has no label for taxonomy ${tax.id} (labels: ${JSON.stringify(r.labels)})`, `Evaluate ${tax.id} only on datasets labelled with it or with a taxonomy that maps to it.`);
    }
    ids.push(r.id);
    rows.push(row);
    labels.push(classIndex(tax, cls));
  }
  if (ids.length === 0) {
    throw missing > 0
      ? dataError(manifestPath, `none of the ${missing} ${split} images has a row in ${table.file} (e.g. ${example})`, 'Embed the same manifest that you train or evaluate on.')
      : dataError(manifestPath, `no images in split "${split}"`, 'Check the split name (train, val, test) and the manifest.');
  }
  // A few images the embedding stage could not read are left out (and counted), not fatal.
  return { ids, rows: Uint32Array.from(rows), labels: Int32Array.from(labels), missing };
}

export function readManifest(path: string): ManifestRow[] {
  return readJsonl<ManifestRow>(path);
}

/** L2-normalises every row in place (prompt embeddings enter the contrastive loss normalised). */
export function normaliseRows(m: Float32Array, dim: number): Float32Array {
  for (let r = 0; r < m.length / dim; r++) {
    let s = 0;
    for (let c = 0; c < dim; c++) s += m[r * dim + c] ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let c = 0; c < dim; c++) m[r * dim + c] *= inv;
  }
  return m;
}
