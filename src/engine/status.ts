// `pipe status`: for every instance, whether its result is in the store and, if not, WHY: the
// fingerprint components that differ from its last successful result (old vs new value or hash).
import type { Json } from '../stage-api.js';
import { HashCache } from '../hash/cache.js';
import type { Pipeline } from '../pipeline/types.js';
import { openStore } from '../store/index.js';
import { prepare, PrepareError, type Artifact } from './keys.js';
import { Layout } from './layout.js';
import { restore } from './commit.js';
import { diffComponents, sameComponentsReason, type Change } from './diff.js';

export type { Change } from './diff.js';
import { outputNames } from '../pipeline/kinds.js';

/** The content hash of an output that does not exist yet. */
const PENDING = 'pending';

/** `corrupt`: its store entry was changed after the commit (see entry.ts); `pipe run` rebuilds it. */
export type Freshness = 'up-to-date' | 'stale' | 'new' | 'pending' | 'corrupt' | 'error';

export interface InstanceFreshness {
  readonly id: string;
  readonly state: Freshness;
  readonly key: string | null;
  readonly changes: readonly Change[];
  readonly reason?: string;
  /** Up to date: what building its stored result took (CPU and peak RSS null where not measured). */
  readonly result?: { readonly duration_ms: number; readonly cpu_ms: number | null; readonly peak_rss_kb: number | null };
}

export async function pipelineStatus(p: Pipeline, opts: { verify?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<InstanceFreshness[]> {
  const layout = new Layout(p.workspace);
  const store = openStore(layout.db);
  try {
    const hashes = new HashCache(store, opts.verify);
    const last = store.lastGoodByInstance(p.relFile);
    const scope = { params: p.params, byStage: p.byStage, env: opts.env ?? process.env };
    const outputs = new Map<string, ReadonlyMap<string, Artifact>>();
    const out: InstanceFreshness[] = [];
    for (const inst of p.instances) {
      const waiting = inst.upstream.filter((u) => !outputs.has(u));
      // An upstream that must run first has unknown outputs: they enter as "pending", so the other
      // differences (code, params, env) can still be shown.
      const known = new Map(outputs);
      for (const u of waiting) {
        const up = p.byId.get(u)!;
        known.set(u, new Map(outputNames(up.stage, up.kind).map((n) => [n, { path: `/pending/${u}/${n}`, hash: PENDING }])));
      }
      let prepared;
      try {
        prepared = await prepare(inst, scope, known, hashes, p.workspace);
      } catch (e) {
        if (!(e instanceof PrepareError)) throw e;
        out.push({ id: inst.id, state: 'error', key: null, changes: [], reason: e.message });
        continue;
      }
      if (waiting.length) {
        const prev = last.get(inst.id);
        out.push({
          id: inst.id,
          state: 'pending',
          key: null,
          // Inputs from upstream that has yet to run are implied by the reason; list the other changes.
          changes: prev ? diffComponents(prev.components, prepared.components as unknown as Json).filter((c) => c.new !== JSON.stringify(PENDING)) : [],
          reason: `after ${waiting.slice(0, 3).join(', ')}${waiting.length > 3 ? ', ...' : ''} (not up to date)`,
        });
        continue;
      }
      const hit = restore(store, layout, prepared.key, opts.verify);
      if (hit.state === 'ok') {
        outputs.set(inst.id, hit.artifacts);
        const c = store.getCommitted(prepared.key)!;
        const result = { duration_ms: c.durationMs, cpu_ms: c.cpuMs ?? null, peak_rss_kb: c.peakRssKb ?? null };
        out.push({ id: inst.id, state: 'up-to-date', key: prepared.key, changes: [], result });
        continue;
      }
      if (hit.state === 'corrupt') {
        out.push({ id: inst.id, state: 'corrupt', key: prepared.key, changes: [], reason: hit.problem });
        continue;
      }
      const prev = last.get(inst.id);
      if (!prev) {
        out.push({ id: inst.id, state: 'new', key: prepared.key, changes: [], reason: 'never ran' });
        continue;
      }
      const changes = diffComponents(prev.components, prepared.components as unknown as Json);
      out.push({
        id: inst.id,
        state: 'stale',
        key: prepared.key,
        changes,
        ...(changes.length ? {} : { reason: sameComponentsReason(prev.key, prepared.key) }),
      });
    }
    hashes.flush();
    return out;
  } finally {
    store.close();
  }
}
