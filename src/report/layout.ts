// The row and column layout of the CLIP-E paper's Tables I and II, keyed by the metric rows' ids, so that
// every rendering (markdown, CSV, JSON, figures) agrees on order and labels.
import { METHODS, type Method } from '../formats.js';

export interface ColumnSpec {
  /** Taxonomy id of the metric rows that fill this column. */
  readonly taxonomy: string;
  /** Evaluation dataset id of those rows. */
  readonly dataset: string;
  /** Header as printed in the paper. */
  readonly label: string;
  /** Column key in data/paper-results.yaml. */
  readonly paperKey: string;
}

export interface TableSpec {
  readonly id: 'table1' | 'table2';
  readonly title: string;
  /** Key of this table in data/paper-results.yaml. */
  readonly paperKey: string;
  readonly columns: readonly ColumnSpec[];
}

export const TABLES: readonly TableSpec[] = [
  {
    id: 'table1',
    title: 'Table I: trained and tested on WEBEmo',
    paperKey: 'table1_webemo',
    columns: [
      { taxonomy: 'webemo2', dataset: 'webemo', label: '2 cat', paperKey: 'cat2' },
      { taxonomy: 'webemo6', dataset: 'webemo', label: '6 cat', paperKey: 'cat6' },
      { taxonomy: 'webemo25', dataset: 'webemo', label: '25 cat', paperKey: 'cat25' },
    ],
  },
  {
    id: 'table2',
    title: 'Table II: trained on WEBEmo, tested on other datasets',
    paperKey: 'table2_cross_dataset',
    columns: [
      { taxonomy: 'iaps2', dataset: 'iaps', label: 'IAPS', paperKey: 'iaps' },
      { taxonomy: 'emotion6_2', dataset: 'emotion6', label: 'Emotion-6 2 Cat', paperKey: 'emotion6_cat2' },
      { taxonomy: 'emotion6_6', dataset: 'emotion6', label: 'Emotion-6 6 Cat', paperKey: 'emotion6_cat6' },
      { taxonomy: 'emotionroi2', dataset: 'emotionroi', label: 'EmotionROI 2 Cat', paperKey: 'emotionroi_cat2' },
      { taxonomy: 'emotionroi6', dataset: 'emotionroi', label: 'EmotionROI 6 Cat', paperKey: 'emotionroi_cat6' },
      { taxonomy: 'fi2', dataset: 'fi', label: 'FI 2 Cat', paperKey: 'fi_cat2' },
      { taxonomy: 'fi8', dataset: 'fi', label: 'FI 8 Cat', paperKey: 'fi_cat8' },
    ],
  },
];

/** Row labels as printed in the paper; our rows are METHODS, in this order. */
export const METHOD_LABELS: Readonly<Record<Method, string>> = {
  random: 'Random',
  most_represented_class: 'Most represented class',
  clip_zero_shot: 'CLIP Zero-Shot',
  clipe_cross_entropy: 'CLIP-E Cross-Entropy',
  clipe_contrastive: 'CLIP-E Contrastive',
  clipe_contrastive_sc: 'CLIP-E Contrastive [SC]',
  clipe_contrastive_ic: 'CLIP-E Contrastive [IC]',
  clipe_contrastive_sc_ic: 'CLIP-E Contrastive [SC, IC]',
  clipe_contrastive_sc_ssc: 'CLIP-E Contrastive [SC, SSC]',
};

/** Rows the paper reports from other publications: shown in the comparison table only. */
export const PAPER_ONLY_LABELS: Readonly<Record<string, string>> = {
  panda_2018: 'Panda et al. 2018',
  zhang_2020: 'Zhang et al. 2020',
  mdan_2022: 'MDAN 2022',
};

/** The first ablation row: the paper prints a "CLIP-E Contrastive Ablation" divider above it. */
export const FIRST_ABLATION: Method = 'clipe_contrastive_sc';

/** Methods trained per epoch (the ones that have a final and a best epoch). */
export const TRAINED_METHODS: readonly Method[] = METHODS.filter((m) => m.startsWith('clipe_'));

export function isMethod(id: string): id is Method {
  return (METHODS as readonly string[]).includes(id);
}

/** A row's printed label; a variant row adds its protocol: `CLIP-E Contrastive (prompts=own)`. */
export function labelOf(method: string, variant: string | null = null): string {
  const label = isMethod(method) ? METHOD_LABELS[method] : (PAPER_ONLY_LABELS[method] ?? method);
  return variant === null ? label : `${label} (${variant})`;
}

/** The column of a taxonomy id, with its table. */
export function columnOf(taxonomy: string): { table: TableSpec; column: ColumnSpec } | undefined {
  for (const table of TABLES) {
    const column = table.columns.find((c) => c.taxonomy === taxonomy);
    if (column) return { table, column };
  }
  return undefined;
}

/** Metrics the tables can show (all fractions, printed in %); the paper's tables are `accuracy`. */
export const TABLE_METRICS: Readonly<Record<string, string>> = {
  accuracy: 'Accuracy',
  per_class_accuracy: 'Mean per-class accuracy',
  macro_f1: 'Macro F1',
  top3_accuracy: 'Top-3 accuracy',
  top5_accuracy: 'Top-5 accuracy',
  hier_accuracy: 'Hierarchical accuracy (parent class right)',
};
