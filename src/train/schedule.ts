// Keras `ReduceLROnPlateau` and `EarlyStopping` on the validation loss, as plain state machines so that
// their state is part of an epoch checkpoint (a resumed run decides exactly like an uninterrupted one).

export interface PlateauConfig {
  /** New lr = lr × factor after `patience` epochs without an improvement larger than `minDelta`. */
  readonly factor: number;
  readonly patience: number;
  readonly minDelta: number;
  readonly minLr: number;
}

export interface EarlyStopConfig {
  readonly patience: number;
  readonly minDelta: number;
}

export interface ScheduleState {
  lr: number;
  /** Best validation loss so far for each rule (they compare with different deltas); MAX_VALUE, not
   * Infinity, before the first epoch so that the state survives JSON. */
  plateauBest: number;
  plateauWait: number;
  stopBest: number;
  stopWait: number;
  /** 1-based epoch of the last improvement (Keras `restore_best_weights` picks its weights). */
  bestEpoch: number;
  stopped: boolean;
}

export function initialSchedule(lr: number): ScheduleState {
  return { lr, plateauBest: Number.MAX_VALUE, plateauWait: 0, stopBest: Number.MAX_VALUE, stopWait: 0, bestEpoch: 0, stopped: false };
}

export interface EpochDecision {
  /** The learning rate changed for the next epoch. */
  readonly lrReduced: boolean;
  readonly stop: boolean;
}

/** Feeds one epoch's validation loss; mutates `s`. Keras order: EarlyStopping, then ReduceLROnPlateau. */
export function afterEpoch(s: ScheduleState, epoch: number, valLoss: number, plateau: PlateauConfig, early: EarlyStopConfig): EpochDecision {
  // NaN never improves: a diverged run stops by patience instead of being selected.
  if (valLoss < s.stopBest - early.minDelta) {
    s.stopBest = valLoss;
    s.stopWait = 0;
    s.bestEpoch = epoch;
  } else {
    s.stopWait++;
    if (s.stopWait >= early.patience) s.stopped = true;
  }
  // A first epoch with a NaN loss is still the selected one until something improves on it.
  if (s.bestEpoch === 0) s.bestEpoch = epoch;
  let lrReduced = false;
  if (valLoss < s.plateauBest - plateau.minDelta) {
    s.plateauBest = valLoss;
    s.plateauWait = 0;
  } else {
    s.plateauWait++;
    if (s.plateauWait >= plateau.patience && s.lr > plateau.minLr) {
      s.lr = Math.max(s.lr * plateau.factor, plateau.minLr);
      s.plateauWait = 0;
      lrReduced = true;
    }
  }
  return { lrReduced, stop: s.stopped };
}
