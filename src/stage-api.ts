// The contract between the engine and a built-in stage kind (one module per kind under `stages/`).
//
// A stage kind is a typed value, not a class: the engine validates the YAML `with:` block against
// `params` (a JSON Schema, checked with ajv), resolves every `format: "path"` string to an absolute path
// and hashes its content into the cache key, then calls `run` with a private output directory that is
// renamed into the content-addressed store only after `run` resolves.

/** Any JSON value: what params, metric details and tags may hold. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON Schema object (draft 2020-12 subset understood by ajv). `format: "path"` marks input paths. */
export type JsonSchema = { [key: string]: Json };

export interface Resources {
  /** CPU slots the stage occupies while running (default 1). */
  readonly cpu?: number;
  /** GPU slots (default 0); stages asking for a GPU are serialised on the `gpu` resource. */
  readonly gpu?: number;
  /** A hint in MiB; the scheduler does not start a stage that would exceed `--memory`. */
  readonly memoryMb?: number;
}

/** A tag value: what a metric row is about (a seed, a dataset id, a flag). */
export type TagValue = string | number | boolean;

/**
 * One row of the results store's metrics table; the engine adds run, stage instance and stage key. The
 * store is generic: a stage's own vocabulary (which model, which dataset, which seed) goes into `tags`,
 * and a series (per epoch, per iteration) into `step`.
 */
export interface MetricRow {
  /** e.g. `accuracy`, `val_loss`, `eval.f1` (nested keys of a metrics file joined with dots). */
  readonly name: string;
  /** null means "not computable", never "missing". */
  readonly value: number | null;
  /** Position in a series (epoch, iteration); absent or null for a summary value. */
  readonly step?: number | null;
  /** The dimensions the number belongs to, e.g. `{ dataset: "val", seed: 3 }`. */
  readonly tags?: Readonly<Record<string, TagValue>>;
  /** Structured detail, e.g. `{ labels: [...], matrix: [[...]] }` for a confusion matrix. */
  readonly detail?: Json;
}

export interface Progress {
  readonly done: number;
  readonly total?: number;
  /** What is counted: `images`, `samples`, `epochs`, ... */
  readonly unit?: string;
  readonly message?: string;
}

/** The run executing a stage attempt (StageContext.run). */
export interface RunInfo {
  /** The store's run id, as `pipe runs` lists it. */
  readonly id: number;
  /** The pipeline file, relative to the workspace (as the run is recorded). */
  readonly pipelineFile: string;
  /** sha256 (hex) of the pipeline file's content when the run started. */
  readonly pipelineHash: string;
  /** `pipe 0.1.0 (git 1a2b3c4d5e6f, modified)`: package version, plus the git commit in a checkout. */
  readonly codeVersion: string;
}

export interface StageContext<P> {
  /** The validated `with:` block; `format: "path"` strings are absolute. */
  readonly params: P;
  /** Matrix values of this instance (empty for a plain stage). */
  readonly matrix: Readonly<Record<string, Json>>;
  /** e.g. `train@seed=3,dataset=b`. */
  readonly instanceId: string;
  /** The project directory that holds `runs/`. */
  readonly workspace: string;
  /**
   * The run executing this attempt, for provenance (e.g. the tables' footer). Deliberately NOT part of
   * the stage key, or every run would re-run the stage: outputs restored from the cache by a later run
   * name the run that built them, and a stage's results must not otherwise depend on these values.
   */
  readonly run: RunInfo;
  /** Absolute path of a declared output inside the private output directory. */
  output(name: string): string;
  /**
   * A directory that survives failed and killed attempts of this exact stage key (checkpoints for
   * resuming); the engine deletes it after the stage succeeds. Write into it atomically.
   */
  readonly resumeDir: string;
  /**
   * A persistent directory shared by every run of this stage kind (e.g. a per-image embedding cache).
   * Entries must be content-keyed and written atomically (write to a temp name, then rename).
   */
  readonly kindCacheDir: string;
  readonly signal: AbortSignal;
  /** A line to the stage's log file (and to the console with --verbose). */
  log(line: string): void;
  progress(p: Progress): void;
  /** Buffered; written to the store and to `metrics.jsonl` in the same commit as the outputs. */
  metric(row: MetricRow): void;
  /**
   * Content hashes (sha256 hex) of files or directories through the stat-keyed hash cache (unchanged
   * files are not re-read); a directory's is the one the engine puts in keys.
   */
  hashFiles(paths: readonly string[]): Promise<string[]>;
  /**
   * The value of a secret environment variable the kind's `secrets()` or the stage's `secrets:` names
   * (throws for any other name). Never log it: `log` lines and error messages are masked anyway.
   */
  secret(name: string): string;
}

export interface OutputSpec {
  /** File or directory name inside the output directory. */
  readonly path: string;
  readonly description: string;
}

export interface StageKind<P> {
  /** `ingest/webemo`: also its module path under `stages/`. */
  readonly kind: string;
  /** Bump when the outputs for the same inputs would change: part of the cache key. */
  readonly version: string;
  readonly description: string;
  /** JSON Schema of the `with:` block (type: object, additionalProperties: false). */
  readonly params: JsonSchema;
  readonly outputs: Readonly<Record<string, OutputSpec>>;
  /** CPU/GPU/memory needs of one instance (default: 1 cpu). */
  resources?(params: P): Resources;
  /**
   * Run `run` and `runGroup` in a worker thread of their own instead of on the engine's thread: for a
   * kind whose work is long and synchronous on its thread (an onnxruntime training loop), so that two
   * of them use two cores and its data and garbage stay out of the engine's heap. `module` is the URL of
   * the module whose default export is this kind: its own `import.meta.url`. The context is the same (its log, progress, metric, hashFiles and signal are
   * relayed to the engine); what a kind keeps in module-level state is not shared with the engine.
   * Errors keep their kind (StageError with hint, GroupFailure by member); a crash of the worker fails
   * the attempt. Slurm jobs run the kind on the job's own thread (docs/engine.md).
   */
  readonly isolation?: { readonly module: string };
  /**
   * Extra environment facts that change the result (runtime versions, execution provider). Content of
   * `format: "path"` params is already hashed by the engine.
   */
  fingerprint?(params: P): Promise<Readonly<Record<string, string>>>;
  /**
   * Names of environment variables the stage needs as secrets (an API key): handed to `ctx.secret()`,
   * never part of the key, the database or a log. A missing one fails the instance before it runs.
   */
  secrets?(params: P): readonly string[];
  run(ctx: StageContext<P>): Promise<void>;
  /**
   * Runs several instances of this kind in one call (e.g. K heads that differ only in seed, trained in
   * one session). The engine calls it for the uncached members of a `group_by` group of a matrix stage;
   * each context is exactly what `run` would get for that member (its own params, matrix, outputs,
   * resumeDir, metric, log, progress), all sharing one abort signal. Cached members are never passed.
   * Each member is committed under its own key, so a member's outputs, metrics and checkpoints must be
   * what `run(ctx)` alone would produce for it, and only its own `ctx` may be written to.
   *
   * Resolving commits every member. Throwing fails every member, except: throw a `GroupFailure` whose
   * `failed` map names the members (by `instanceId`) that failed; the others are committed.
   * A kind without `runGroup` in a group has its members run one by one with `run`.
   */
  runGroup?(ctxs: readonly StageContext<P>[]): Promise<void>;
}

/** Identity helper that gives a stage module full type inference for its params. */
export function defineStage<P>(kind: StageKind<P>): StageKind<P> {
  return kind;
}

/** A failure the user can act on: the engine prints `message` without a stack trace. */
export class StageError extends Error {
  override readonly name = 'StageError';
  constructor(
    message: string,
    /** What to do about it, printed under the message. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * Thrown by `runGroup` when only some members failed: `failed` maps a member's `instanceId` to its
 * error; every other member of the call is committed as having succeeded.
 */
export class GroupFailure extends Error {
  override readonly name = 'GroupFailure';
  constructor(readonly failed: ReadonlyMap<string, Error>) {
    super(`${failed.size} member(s) of the group failed: ${[...failed.keys()].join(', ')}`);
  }
}
