// Names and shapes shared by the head graphs, checkpoints and the trainer. Kept apart from graphs.ts so
// that stage modules (loaded for every cache-key computation) do not load the protobuf ONNX schema.

/** Names of the trainable tensors, in the order of `Head.weights` and of the gradient outputs. */
export const WEIGHT_NAMES = ['W1', 'b1', 'W2', 'b2'] as const;
export const GRAD_NAMES = WEIGHT_NAMES.map((n) => `d${n}`);

export interface MlpDims {
  readonly inputDim: number;
  readonly hidden: number;
  readonly outputDim: number;
}

export type HeadType = 'cross_entropy' | 'contrastive';
export type CeOutput = 'softmax' | 'sigmoid';
export type ContrastiveLoss = 'soft' | 'hard';
