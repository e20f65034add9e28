// Maps a JSON path inside the parsed document back to a line and column of the YAML source.
import { LineCounter, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';

export type JsonPath = readonly (string | number)[];

/** A path as messages write it: `stages.train.run[2]`. */
export function dotted(path: JsonPath): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i ? `.${s}` : s)).join('');
}

export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** The deepest existing node along `path` (its key when `key` is set and the path ends in a map). */
  at(path: JsonPath, key = false): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let best: Node | null = isScalar(node) || isMap(node) || isSeq(node) ? node : null;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        if (key && i === path.length - 1 && isScalar(pair.key)) {
          best = pair.key;
          break;
        }
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else break;
      if (isScalar(node) || isMap(node) || isSeq(node)) best = node;
      else break;
    }
    const offset = best?.range?.[0] ?? 0;
    return this.offset(offset);
  }

  offset(offset: number): { line: number; col: number } {
    const p = this.lines.linePos(offset);
    return { line: p.line, col: p.col };
  }
}
