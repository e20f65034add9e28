// The study's pipelines after issue 10 wrote each dataset once (one `ingest` and one `embed` matrix stage
// over `params.datasets`, `eval_sets` as one for_each) describe the same work as the files they replaced
// (test/fixtures/pipelines-before-issue-10/): the same instances under the new ids, each with the same
// kind, the same params once schema defaults are filled in, and the same upstream instances. With keys
// that see upstream outputs by content only, that means the same keys: the rewrite re-runs nothing.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/engine/canonical.js';
import { paramsValidator } from '../../src/pipeline/kinds.js';
import { loadPipeline } from '../../src/pipeline/load.js';
import { resolveInstance } from '../../src/pipeline/resolve.js';
import type { Json } from '../../src/stage-api.js';
import { REPO_ROOT } from '../support/index.js';

const DATASETS = ['webemo', 'iaps', 'emotion6', 'emotionroi', 'fi'];
/** Old id -> new id: `webemo` -> `ingest@dataset=webemo`, `embed-iaps` -> `embed@dataset=iaps`. */
const RENAMED = new Map(DATASETS.flatMap((d) => [[d, `ingest@dataset=${d}`], [`embed-${d}`, `embed@dataset=${d}`]] as [string, string][]));
const renamed = (id: string): string => RENAMED.get(id) ?? id;

interface Described {
  readonly kind: string;
  readonly params: string;
  readonly upstream: readonly string[];
}

/** Every instance by (new) id: its kind, canonical params with defaults and upstream ids renamed. */
async function describePipeline(file: string): Promise<Map<string, Described>> {
  const r = await loadPipeline(file, { workspace: REPO_ROOT, sets: [], env: {} });
  if (!r.ok) throw new Error(`${file}: ${JSON.stringify(r.diagnostics)}`);
  const p = r.pipeline;
  const scope = { params: p.params, byStage: p.byStage, env: {} };
  const out = new Map<string, Described>();
  for (const inst of p.instances) {
    const params = resolveInstance(scope, inst, inst.stage.with ?? {}, { output: (u, o) => `artifact:${renamed(u.id)}:${o}` });
    expect(paramsValidator(inst.kind!)(params), inst.id).toBe(true); // fills in the schema defaults
    out.set(renamed(inst.id), { kind: inst.kind!.kind, params: canonicalJson(params as Json), upstream: inst.upstream.map(renamed).sort() });
  }
  return out;
}

describe.each(['paper-tables', 'demo', 'rehearsal'])('pipelines/%s.yaml folded per dataset', (name) => {
  it('has the instances of the file it replaced, with the same kinds, params and upstream', async () => {
    const before = await describePipeline(join(REPO_ROOT, 'test/fixtures/pipelines-before-issue-10', `${name}.yaml`));
    const after = await describePipeline(join(REPO_ROOT, 'pipelines', `${name}.yaml`));
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    expect(after.has('embed@dataset=iaps') && after.has('ingest@dataset=webemo')).toBe(true);
    for (const [id, was] of before) expect(after.get(id), id).toEqual(was);
  });
});
