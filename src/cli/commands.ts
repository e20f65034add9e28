// CLI commands: name -> one-line summary and a lazily imported module, so `pipe run` loads only what it
// uses and `pipe --help` loads no command at all (some pull in ajv, the engine or the report code at
// import time: listing them all cost about three times a bare node start).
// Each module exports `run(argv): Promise<number>` (the exit code).
export interface CommandModule {
  run(argv: string[]): Promise<number>;
}

export interface Command {
  readonly summary: string;
  readonly load: () => Promise<CommandModule>;
}

type Commands = Readonly<Record<string, Command>>;

/** The orchestrator's own commands: any pipeline. */
export const ENGINE_COMMANDS: Commands = {
  run: { summary: 'run a pipeline (cached stages are restored, not re-run)', load: () => import('./commands/run.js') },
  status: { summary: 'show which stage instances are up to date, and why the others are not', load: () => import('./commands/status.js') },
  dag: { summary: 'print the stage graph (text, or Mermaid with --mermaid)', load: () => import('./commands/dag.js') },
  runs: { summary: 'list earlier runs (when, pipeline, status, counts, duration)', load: () => import('./commands/runs.js') },
  checkout: { summary: "publish a recorded run's outputs to their workspace paths (from the store, nothing re-runs)", load: () => import('./commands/checkout.js') },
  show: { summary: 'show one run (by number) or the history of a stage instance (by id or stage name)', load: () => import('./commands/show.js') },
  logs: { summary: 'print one stage instance\'s log (-f follows it while it runs)', load: () => import('./commands/logs.js') },
  validate: { summary: 'check a pipeline file (schema, kinds, references, cycles) and report every error', load: () => import('./commands/validate.js') },
  store: { summary: 'maintain the results store (reindex: rebuild the database index from runs/store/)', load: () => import('./commands/store.js') },
  exp: { summary: 'compare runs: params that differ and metrics, one row per run (exp show)', load: () => import('./commands/exp.js') },
  params: { summary: 'params that differ between two runs (params diff A B)', load: () => import('./commands/params.js') },
  metrics: { summary: 'metrics that differ between two runs (metrics diff A B)', load: () => import('./commands/metrics.js') },
  plots: { summary: 'per-step metric series of runs overlaid, as SVG files (Vega-Lite)', load: () => import('./commands/plots.js') },
  ui: { summary: 'serve the experiment page live on 127.0.0.1 (read-only, refreshes as runs progress)', load: () => import('./commands/ui.js') },
  'exec-instance': { summary: '(internal) run one resolved instance inside a Slurm job', load: () => import('./commands/exec-instance.js') },
};

/** Commands of the study this repository reproduces (its results store, models and taxonomies). */
export const STUDY_COMMANDS: Commands = {
  tables: { summary: 'Tables I and II of a run (markdown, CSV, JSON, figures) from the results store', load: () => import('./commands/tables.js') },
  predict: { summary: "class distribution of images from a run's trained head (the paper's Fig. 3)", load: () => import('./commands/predict.js') },
  taxonomy: { summary: 'list taxonomies, or show and check the classes and parent maps of some', load: () => import('./commands/taxonomy.js') },
  model: { summary: 'download a CLIP model folder (pipe model fetch Xenova/clip-vit-base-patch32)', load: () => import('./commands/model.js') },
};

export const COMMANDS: Commands = { ...ENGINE_COMMANDS, ...STUDY_COMMANDS };
