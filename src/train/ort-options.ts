// onnxruntime session options used by every training and evaluation session.
import type { InferenceSession } from 'onnxruntime-node';

/**
 * `allow_spinning: 0`: after a parallel section onnxruntime's intra-op threads otherwise busy-wait for
 * the next one, taking the cores that the JS side (batch copies, Adam, the next feeds) needs; on 2
 * shared cores that made a contrastive step 5-7× slower (bench/train.ts, docs in BENCHMARKS.md).
 */
export function ortSessionOptions(threads = 1, providers: readonly string[] = ['cpu']): InferenceSession.SessionOptions {
  return {
    executionProviders: [...providers],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}
