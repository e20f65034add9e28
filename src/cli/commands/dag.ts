// `pipe dag FILE`: the stage graph as text, or as a Mermaid flowchart (`--mermaid`).
import type { Pipeline } from '../../pipeline/types.js';
import { EXIT_OK, WORKSPACE_OPTION, guard, openPipelineArg, parse } from '../common.js';

const USAGE = 'usage: pipe dag FILE [--mermaid] [--instances] [--set name=value]... [--workspace DIR]';
const OPTIONS = {
  ...WORKSPACE_OPTION,
  mermaid: { type: 'boolean' },
  instances: { type: 'boolean' },
  set: { type: 'string', multiple: true, short: 's' },
} as const;

/** Nodes and edges at stage level (default) or instance level. */
function graph(p: Pipeline, instances: boolean): { nodes: { id: string; label: string }[]; edges: [string, string][] } {
  if (instances)
    return {
      nodes: p.instances.map((i) => ({ id: i.id, label: i.id })),
      edges: p.instances.flatMap((i) => i.upstream.map((u): [string, string] => [u, i.id])),
    };
  const edges = new Set<string>();
  for (const i of p.instances) for (const u of i.upstream) edges.add(`${p.byId.get(u)!.stage.name}\n${i.stage.name}`);
  return {
    nodes: p.stages.map((s) => {
      const n = p.byStage.get(s.name)?.length ?? 0;
      // A kind chosen per instance (`uses: "${matrix.dataset.kind}"`) shows every kind it picks.
      const kinds = [...new Set((p.byStage.get(s.name) ?? []).flatMap((i) => (i.kind ? [i.kind.kind] : [])))];
      const what = kinds.length ? kinds.join(' | ') : Array.isArray(s.run) ? String(s.run[0]) : 'sh';
      return { id: s.name, label: `${s.name} (${what}${n > 1 ? `, ${n} instances` : ''})` };
    }),
    edges: [...edges].map((e) => e.split('\n') as [string, string]),
  };
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    const p = await openPipelineArg(positionals, values, USAGE);
    const g = graph(p, !!values.instances);
    if (values.mermaid) {
      const ids = new Map(g.nodes.map((n, i) => [n.id, `n${i}`]));
      const esc = (s: string) => s.replaceAll('"', '#quot;');
      const lines = ['flowchart TD'];
      for (const n of g.nodes) lines.push(`  ${ids.get(n.id)}["${esc(n.label)}"]`);
      for (const [a, b] of g.edges) lines.push(`  ${ids.get(a)} --> ${ids.get(b)}`);
      process.stdout.write(`${lines.join('\n')}\n`);
      return EXIT_OK;
    }
    const lines = p.description ? [`# ${p.description}`] : [];
    for (const n of g.nodes) {
      const ups = g.edges.filter(([, b]) => b === n.id).map(([a]) => a);
      lines.push(`${n.label}${ups.length ? `  <- ${ups.join(', ')}` : ''}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT_OK;
  });
}
