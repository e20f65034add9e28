// `pipe checkout [RUN]`: publishes the outputs of a recorded run (default: the latest) to the workspace
// paths its pipeline declared under `publish:`, from the store; nothing is re-run.
import { HashCache } from '../../hash/cache.js';
import { UsageError } from '../../engine/errors.js';
import { Layout } from '../../engine/layout.js';
import { publish, type PublishedFile, type PublishSource } from '../../engine/publish.js';
import { committedOutputs } from '../../engine/commit.js';
import { globRegex } from '../../engine/select.js';
import { runPublished } from '../../store/published.js';
import { EXIT_FAILED, EXIT_OK, WORKSPACE_OPTION, guard, parse, withRecordedRun, workspaceOf } from '../common.js';

const USAGE = 'usage: pipe checkout [RUN] [--only PATH|ID|GLOB]... [--force] [--json] [--workspace DIR]';
const OPTIONS = { ...WORKSPACE_OPTION, only: { type: 'string', multiple: true }, force: { type: 'boolean', short: 'f' }, json: { type: 'boolean' } } as const;

/** Prints what publishing did: written and removed paths on stdout, edited ones as warnings on stderr. */
export function printPublished(files: readonly PublishedFile[], all = false): void {
  for (const f of files) {
    if (f.status === 'edited') process.stderr.write(`pipe: warning: ${f.path} (${f.id} ${f.output}) ${f.hint ?? 'was edited'}\n`);
    else if (all || f.status !== 'unchanged') process.stdout.write(`${f.status.padEnd(9)} ${f.path}  (${f.id} ${f.output})\n`);
  }
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    if (positionals.length > 1) throw new UsageError('expected at most one run number', USAGE);
    const workspace = workspaceOf(values);
    return withRecordedRun(workspace, positionals[0], 'RUN', USAGE, async (store, runId) => {
      const run = store.getRun(runId);
      if (!run) throw new UsageError(`no run ${runId}`, 'pipe runs lists them');
      const patterns = (values.only ?? []).map(globRegex);
      const rows = runPublished(store, runId).filter((r) => !patterns.length || patterns.some((re) => re.test(r.path) || re.test(r.instanceId)));
      if (!rows.length) {
        process.stderr.write(`pipe checkout: run ${runId} published ${values.only?.length ? 'nothing matching --only' : 'nothing'}\n  hint: outputs are published where the pipeline says publish: (docs/pipeline-format.md)\n`);
        return EXIT_FAILED;
      }
      const layout = new Layout(workspace);
      const sources: PublishSource[] = [];
      let lost = 0;
      for (const r of rows) {
        const artifact = committedOutputs(store, layout, r.key)?.get(r.output);
        if (artifact) sources.push({ ...r, id: r.instanceId, artifact });
        else {
          lost++;
          process.stderr.write(`pipe checkout: ${r.path}: the result of ${r.instanceId} (key ${r.key.slice(0, 12)}) is no longer in the store\n  hint: re-run it: pipe run ${run.pipeline} --until '${r.instanceId}'\n`);
        }
      }
      const files = publish(sources, { workspace, store, hashes: new HashCache(store), pipeline: run.pipeline, force: !!values.force });
      if (values.json) process.stdout.write(`${JSON.stringify({ run: runId, published: files }, null, 2)}\n`);
      else printPublished(files, true);
      return lost || files.some((f) => f.status === 'edited') ? EXIT_FAILED : EXIT_OK;
    });
  });
}
