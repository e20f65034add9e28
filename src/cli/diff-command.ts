// `pipe params diff` and `pipe metrics diff`: one command shape, two kinds of values.
import { UsageError } from '../engine/errors.js';
import { resolveRun } from '../results/compare.js';
import { metricsDiff, paramsDiff } from '../results/diff.js';
import { renderDiff } from '../results/format.js';
import { EXIT_OK, WORKSPACE_OPTION, guard, parse, workspaceOf } from './common.js';
import { formatOf, parseStep, withStore } from './results.js';

const OPTIONS = {
  ...WORKSPACE_OPTION,
  all: { type: 'boolean', short: 'a' },
  metrics: { type: 'string', short: 'm' },
  step: { type: 'string' },
  json: { type: 'boolean' },
  csv: { type: 'boolean' },
  md: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const usage = (what: 'params' | 'metrics'): string =>
  `usage: pipe ${what} diff A B [--all]${what === 'metrics' ? ' [--metrics GLOB] [--step final|best|N]' : ''} [--json|--csv|--md] [--workspace DIR]

The ${what} that differ between runs A and B (run numbers, latest, latest~N), with old, new and the change
(new - old) for numbers; --all lists unchanged ones too.${what === 'metrics' ? ' Metrics are compared at their final step, as `pipe exp show` shows them.' : ''}`;

export async function diffCommand(what: 'params' | 'metrics', argv: string[]): Promise<number> {
  const USAGE = usage(what);
  return guard(async () => {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h') {
      process.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (sub !== 'diff') throw new UsageError(sub ? `unknown ${what} command "${sub}"` : `missing the ${what} command`, USAGE);
    const { values, positionals } = parse(rest, OPTIONS, USAGE);
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length !== 2) throw new UsageError(`expected two runs, got ${positionals.length}`, USAGE);
    if (what === 'params' && (values.metrics !== undefined || values.step !== undefined)) throw new UsageError('--metrics and --step apply to metrics diff', USAGE);
    const format = formatOf(values, USAGE);
    const step = parseStep(values.step, USAGE);
    return withStore(`${what} diff`, workspaceOf(values), (store) => {
      const [a, b] = positionals.map((p) => resolveRun(store, p));
      const entries =
        what === 'params'
          ? paramsDiff(a, b, values.all)
          : metricsDiff(store, a, b, { all: values.all ?? false, step, ...(values.metrics !== undefined ? { metrics: values.metrics } : {}) });
      process.stdout.write(renderDiff(what, a.id, b.id, entries, format));
      return EXIT_OK;
    });
  });
}
