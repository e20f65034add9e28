// Metric rows shaped like the training, zero-shot and baseline stages write them, for the report tests.
import type { StudyMetric } from '../../src/formats.js';

export const TABLE1 = ['webemo2', 'webemo6', 'webemo25'] as const;
export const TABLE2 = ['iaps2', 'emotion6_2', 'emotion6_6', 'emotionroi2', 'emotionroi6', 'fi2', 'fi8'] as const;
export const DATASET: Record<string, string> = {
  webemo2: 'webemo', webemo6: 'webemo', webemo25: 'webemo', iaps2: 'iaps', emotion6_2: 'emotion6',
  emotion6_6: 'emotion6', emotionroi2: 'emotionroi', emotionroi6: 'emotionroi', fi2: 'fi', fi8: 'fi',
};

export function row(method: string, taxonomy: string, seed: number | null, epoch: number | null, value: number | null, extra: Partial<StudyMetric> = {}): StudyMetric {
  return { method, dataset: DATASET[taxonomy], taxonomy, seed, epoch, metric: 'accuracy', value, ...extra };
}

/** Per-epoch accuracy rows of one trained method: value(seed, epoch), `epochs` per seed. */
export function trained(method: string, taxonomy: string, seeds: number[], epochs: (seed: number) => number, value: (seed: number, epoch: number) => number | null): StudyMetric[] {
  return seeds.flatMap((s) => Array.from({ length: epochs(s) }, (_, i) => row(method, taxonomy, s, i + 1, value(s, i + 1))));
}
