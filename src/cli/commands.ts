// CLI commands: name -> lazily imported module, so `pipe run` loads only what it uses.
// Each module exports `run(argv): Promise<number>` (the exit code) and a one-line `summary`.
export interface CommandModule {
  readonly summary: string;
  run(argv: string[]): Promise<number>;
}

type Commands = Readonly<Record<string, () => Promise<CommandModule>>>;

/** The orchestrator's own commands: any pipeline. */
export const ENGINE_COMMANDS: Commands = {
  run: () => import('./commands/run.js'),
  status: () => import('./commands/status.js'),
  dag: () => import('./commands/dag.js'),
  runs: () => import('./commands/runs.js'),
  checkout: () => import('./commands/checkout.js'),
  show: () => import('./commands/show.js'),
  logs: () => import('./commands/logs.js'),
  validate: () => import('./commands/validate.js'),
  store: () => import('./commands/store.js'),
  exp: () => import('./commands/exp.js'),
  params: () => import('./commands/params.js'),
  metrics: () => import('./commands/metrics.js'),
  plots: () => import('./commands/plots.js'),
  ui: () => import('./commands/ui.js'),
  'exec-instance': () => import('./commands/exec-instance.js'),
};

/** Commands of the study this repository reproduces (its results store, models and taxonomies). */
export const STUDY_COMMANDS: Commands = {
  tables: () => import('./commands/tables.js'),
  predict: () => import('./commands/predict.js'),
  taxonomy: () => import('./commands/taxonomy.js'),
  model: () => import('./commands/model.js'),
};

export const COMMANDS: Commands = { ...ENGINE_COMMANDS, ...STUDY_COMMANDS };
