// Carving a validation split out of train (WEBEmo has none): stratified per class, deterministic from a
// seed. Each image is ranked by sha256(seed:id) instead of a shuffled position, so adding or removing one
// image moves at most one other image between train and val of its class.
import { createHash } from 'node:crypto';

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export interface SplitItem {
  readonly id: string;
  readonly classId: string;
  split: Split;
}

export interface ValCarving {
  readonly from: 'train';
  readonly fraction: number;
  readonly seed: number;
  readonly method: 'stratified-by-class, ranked by sha256(seed:id)';
  readonly count: number;
}

/** Moves round(fraction x n_c) train images of every class c to `val`, in place. */
export function carveValidation(items: SplitItem[], fraction: number, seed: number): ValCarving {
  const byClass = new Map<string, SplitItem[]>();
  for (const it of items) {
    if (it.split !== 'train') continue;
    const list = byClass.get(it.classId) ?? [];
    list.push(it);
    byClass.set(it.classId, list);
  }
  let count = 0;
  for (const list of byClass.values()) {
    const ranked = list
      .map((it) => ({ it, rank: createHash('sha256').update(`${seed}:${it.id}`).digest('hex') }))
      .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
    const n = Math.round(fraction * list.length);
    for (let i = 0; i < n; i++) ranked[i].it.split = 'val';
    count += n;
  }
  return { from: 'train', fraction, seed, method: 'stratified-by-class, ranked by sha256(seed:id)', count };
}
