// The in-memory form of a pipeline file after loading, validation and matrix expansion.
import type { PlotDecl } from '../engine/metric-files.js';
import type { Json, StageKind } from '../stage-api.js';

export type Scalar = string | number | boolean;

/** One problem in a pipeline file, located in the source. */
export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
  /** How to fix it. */
  readonly hint?: string;
}

export interface StageResources {
  readonly cpu?: number;
  readonly gpu?: number;
  readonly memory_mb?: number;
}

/** Slurm job options (`slurm:` of the pipeline, of a stage, or of pipe.config.yaml); see docs/cluster.md. */
export interface SlurmOptions {
  readonly partition?: string;
  readonly account?: string;
  readonly qos?: string;
  /** --time as Slurm writes it (`90`, `1:30:00`, `2-00:00:00`); otherwise from timeout_s. */
  readonly time?: string;
  /** More sbatch options, verbatim (`--constraint=a100`, `--exclude=node7`). */
  readonly extra?: readonly string[];
}

/** A stage as written in the file (after schema validation). */
export interface StageDecl {
  readonly name: string;
  readonly description?: string;
  readonly uses?: string;
  readonly with?: { [key: string]: Json };
  /** A list of arguments (each a string, or a `{ for_each, item }` that gives several), or a shell line. */
  readonly run?: string | Json[];
  readonly shell?: boolean;
  /** Inputs hashed into the key: a list of paths, or a map name -> path (`${deps.NAME}` in run:/with:). */
  readonly deps?: string[] | Readonly<Record<string, string>>;
  /** Workspace paths a command reads on purpose without tracking them (exempt from the untracked check). */
  readonly untracked?: string[];
  /** Command stages: the params keys (dotted, e.g. train.lr) the command reads from a params file itself. */
  readonly params?: string[];
  /** Output name -> path inside the private output directory (the long form `{ path, publish }` is split). */
  readonly outs?: Readonly<Record<string, string>>;
  /** Output name -> workspace path it is published to (may use `${params...}`, `${matrix...}`). */
  readonly publish?: Readonly<Record<string, string>>;
  /** The template this stage extends (already merged in). */
  readonly extends?: string;
  /** Outputs (names in `outs`) that hold metrics: a JSON/YAML map, or CSV/JSONL rows with a `step` column. */
  readonly metrics?: readonly string[];
  /** Outputs that hold series to plot: column `x` is the step, each of `y` a metric. */
  readonly plots?: readonly PlotDecl[];
  readonly env?: Readonly<Record<string, string>>;
  /** Environment variables handed to the stage but kept out of its key, the database and the logs. */
  readonly secrets?: readonly string[];
  readonly matrix?: { [axis: string]: Json };
  /** Matrix axes whose uncached instances run together, one call per group (see docs/engine.md, Groups). */
  readonly group_by?: readonly string[];
  /** Most members in one group call (default: all). */
  readonly group_size?: number;
  readonly needs?: string[];
  readonly resources?: StageResources;
  /** Attempts before the instance counts as failed, and the pause between them. */
  readonly retry?: { readonly attempts: number; readonly delay_s?: number };
  /** Each attempt's time limit; a command's process group is ended when it passes. */
  readonly timeout_s?: number;
  /** Overrides the pipeline's and the workspace's `slurm:` defaults for this stage's jobs. */
  readonly slurm?: SlurmOptions;
}

/** One stage instance: a stage at one point of its matrix. */
export interface Instance {
  /** `train@seed=3,dataset=b`, or the stage name for a plain stage. */
  readonly id: string;
  readonly stage: StageDecl;
  /** Axis -> value: a scalar, a list of scalars or a map with a `name` (see matrix.ts). */
  readonly matrix: Readonly<Record<string, Json>>;
  /** Built-in kind of a `uses:` stage. */
  readonly kind?: StageKind<unknown>;
  /** Ids of the instances this one reads from or `needs:`, in id order. */
  readonly upstream: readonly string[];
  /** Output name -> workspace-relative path its output is published to. */
  readonly publish?: Readonly<Record<string, string>>;
}

export interface Pipeline {
  /** Absolute path of the pipeline file. */
  readonly file: string;
  /** The file relative to the workspace (how runs are recorded). */
  readonly relFile: string;
  readonly workspace: string;
  readonly description?: string;
  /** Workspace-relative paths of the `params_files:` whose keys joined `params`. */
  readonly paramsFiles: readonly string[];
  /** `executor:` of the file (the CLI's --executor and pipe.config.yaml decide when absent). */
  readonly executor?: 'local' | 'slurm';
  /** `slurm:` defaults of the file. */
  readonly slurm?: SlurmOptions;
  /** The `--set` overrides the pipeline was loaded with (a Slurm job loads it the same way). */
  readonly sets: readonly string[];
  /** Defaults, then params files, then `--set` overrides; `${env...}` resolved. */
  readonly params: { readonly [name: string]: Json };
  readonly stages: readonly StageDecl[];
  /** In a topological order (upstream first), ties by declaration order. */
  readonly instances: readonly Instance[];
  readonly byId: ReadonlyMap<string, Instance>;
  readonly byStage: ReadonlyMap<string, readonly Instance[]>;
  /** Published workspace path (relative, normalised) -> the instance and output published there. */
  readonly publishes: ReadonlyMap<string, { readonly id: string; readonly output: string }>;
}
