// CLI commands: name -> lazily imported module, so `pipe run` loads only what it uses.
// Each module exports `run(argv): Promise<number>` (the exit code) and a one-line `summary`.
export interface CommandModule {
  readonly summary: string;
  run(argv: string[]): Promise<number>;
}

export const COMMANDS: Readonly<Record<string, () => Promise<CommandModule>>> = {
  model: () => import('./commands/model.js'),
  run: () => import('./commands/run.js'),
  status: () => import('./commands/status.js'),
  dag: () => import('./commands/dag.js'),
  runs: () => import('./commands/runs.js'),
  show: () => import('./commands/show.js'),
  validate: () => import('./commands/validate.js'),
  tables: () => import('./commands/tables.js'),
  predict: () => import('./commands/predict.js'),
  taxonomy: () => import('./commands/taxonomy.js'),
};
