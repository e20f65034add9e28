// `pipe run FILE`: runs a pipeline, restoring every instance whose key is already in the store.
import { resolve } from 'node:path';
// The engine (and checkout's publishing) load only once the arguments are valid: `pipe run --help` and a
// usage error stay as cheap as a bare node start.
import type { Reporter } from '../../engine/index.js';
import { UsageError } from '../../engine/errors.js';
import { workspaceConfig } from '../../engine/config.js';
import type { ExecutorName } from '../../engine/executor.js';
import { EXIT_FAILED, EXIT_OK, WORKSPACE_OPTION, guard, parse, requireFile, workspaceOf } from '../common.js';

const USAGE = `usage: pipe run FILE [--only ID|GLOB] [--from ID] [--until ID] [--downstream ID] [--force[=ID|GLOB]]
                [--dry-run] [--set name=value]... [--jobs N] [--gpus N] [--memory MB] [--keep-going]
                [--verify] [--verbose] [--json] [--workspace DIR] [--executor local|slurm] [--db PATH]`;

const OPTIONS = {
  ...WORKSPACE_OPTION,
  only: { type: 'string', multiple: true },
  from: { type: 'string', multiple: true },
  until: { type: 'string', multiple: true },
  downstream: { type: 'string', multiple: true },
  force: { type: 'string', multiple: true },
  'force-all': { type: 'boolean' },
  'dry-run': { type: 'boolean', short: 'n' },
  set: { type: 'string', multiple: true, short: 's' },
  jobs: { type: 'string', short: 'j' },
  gpus: { type: 'string' },
  memory: { type: 'string' },
  'keep-going': { type: 'boolean', short: 'k' },
  verify: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  json: { type: 'boolean' },
  executor: { type: 'string' },
  db: { type: 'string' },
} as const;

function count(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} expects a number, got "${v}"`);
  return n;
}

function executorOf(v: string | undefined): { executor?: ExecutorName } {
  if (v === undefined) return {};
  if (v !== 'local' && v !== 'slurm') throw new UsageError(`--executor expects local or slurm, got "${v}"`, USAGE);
  return { executor: v };
}

export async function pickReporter(json: boolean): Promise<Reporter> {
  const { PlainReporter, TtyReporter } = await import('../../engine/progress.js');
  // --json keeps stdout for the one JSON document; events then go to stderr as plain lines.
  if (json) return new PlainReporter((s) => process.stderr.write(s));
  if (process.stdout.isTTY && !process.env.CI) return new TtyReporter(process.stdout);
  return new PlainReporter((s) => process.stdout.write(s));
}

export async function run(argv: string[]): Promise<number> {
  // `--force` alone forces everything selected; `--force=GLOB` only what matches.
  const args = argv.map((a) => (a === '--force' ? '--force-all' : a));
  return guard(async () => {
    const { values, positionals } = parse(args, OPTIONS, USAGE);
    const file = requireFile(positionals, USAGE, workspaceOf(values));
    const [{ runPipeline }, { printPublished }] = await Promise.all([import('../../engine/index.js'), import('./checkout.js')]);
    const controller = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      if (controller.signal.aborted) process.exit(130);
      process.stderr.write(`pipe: ${sig}: stopping running stages (again to quit at once)\n`);
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const workspace = workspaceOf(values);
      const result = await runPipeline({
        file,
        workspace,
        ...executorOf(values.executor),
        config: workspaceConfig(workspace),
        ...(values.db ? { db: resolve(values.db) } : {}),
        sets: values.set ?? [],
        only: values.only ?? [],
        from: values.from ?? [],
        until: values.until ?? [],
        downstream: values.downstream ?? [],
        force: values['force-all'] ? true : (values.force ?? []),
        dryRun: !!values['dry-run'],
        jobs: count(values.jobs, '--jobs'),
        gpus: count(values.gpus, '--gpus'),
        memoryMb: count(values.memory, '--memory'),
        keepGoing: !!values['keep-going'],
        verify: !!values.verify,
        verbose: !!values.verbose,
        reporter: await pickReporter(!!values.json),
        signal: controller.signal,
        argv: ['run', ...argv],
      });
      if (values.json) {
        const doc = {
          run: result.run,
          status: result.status,
          instances: result.instances.map((i) => ({ ...i })),
          ...(result.published ? { published: result.published } : {}),
        };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      } else if (result.published) printPublished(result.published);
      return result.status === 'succeeded' ? EXIT_OK : EXIT_FAILED;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}
