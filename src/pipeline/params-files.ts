// `params_files:`: YAML files whose keys join the pipeline's params, as DVC users keep them (params.yaml).
// Precedence: the pipeline's `params:` < the files, in order < `--set`. Maps merge key by key, so a file
// may set `train.lr` and leave the pipeline's `train.epochs` default in place.
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { Json } from '../stage-api.js';
import type { JsonPath } from './locate.js';
import { deepMerge } from './templates.js';
import type { Diagnostic } from './types.js';

type JsonMap = { [k: string]: Json };

function isMap(v: unknown): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The params files' keys, merged in order, and their workspace-relative paths. A file that cannot be read
 * or parsed, or that is not a map, is reported (at its `params_files:` entry, or at the line in the file).
 */
export function readParamsFiles(
  files: readonly string[],
  workspace: string,
  report: (path: JsonPath, key: boolean, message: string, hint?: string) => void,
  diags: Diagnostic[],
): { params: JsonMap; files: string[] } {
  let params: JsonMap = {};
  const rels: string[] = [];
  files.forEach((f, i) => {
    const abs = isAbsolute(f) ? f : resolve(workspace, f);
    const rel = relative(workspace, abs) || f;
    rels.push(rel);
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (e) {
      report(['params_files', i], false, `params_files[${i}]: cannot read ${rel} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'create it, or remove it from params_files:');
      return;
    }
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const p = lines.linePos(e.pos[0]);
        diags.push({ file: rel, line: p.line, col: p.col, message: e.message.split('\n')[0], hint: 'fix the YAML syntax of this params file' });
      }
      return;
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return;
    if (!isMap(value)) {
      report(['params_files', i], false, `params_files[${i}]: ${rel} must hold a map of params (name: value)`, 'e.g. "train: { lr: 0.01, epochs: 10 }"');
      return;
    }
    params = deepMerge(params, value);
  });
  return { params, files: rels };
}
