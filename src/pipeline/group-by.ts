// `group_by:` on a matrix stage: which axes' instances may run together in one call. Checked at load,
// each problem located on the field that causes it.
import type { StageKind } from '../stage-api.js';
import type { Ref } from './interpolate.js';
import type { JsonPath } from './locate.js';
import type { StageDecl } from './types.js';

type Report = (path: JsonPath, key: boolean, message: string, hint?: string) => void;

/** The group_by axes of a stage (none when it has no group_by:). */
export function groupAxes(s: Pick<StageDecl, 'group_by'>): readonly string[] {
  return Array.isArray(s.group_by) ? s.group_by : [];
}

/** group_by names axes of the stage's own matrix, and its kind (if any) can run a group. */
export function checkGroupBy(s: StageDecl, kind: StageKind<unknown> | undefined, report: Report): void {
  const at = ['stages', s.name];
  if (s.group_size !== undefined && s.group_by === undefined)
    report([...at, 'group_size'], true, `stages.${s.name}.group_size: needs group_by:`, 'add group_by: [AXIS], or remove group_size:');
  if (s.group_by === undefined) return;
  const axes = Object.keys(s.matrix && typeof s.matrix === 'object' ? s.matrix : {});
  groupAxes(s).forEach((axis, i) => {
    if (!axes.includes(axis))
      report([...at, 'group_by', i], false, `stages.${s.name}.group_by: "${axis}" is not a matrix axis of ${s.name}`, axes.length ? `axes of ${s.name}: ${axes.join(', ')}` : `add matrix: { ${axis}: [...] }`);
  });
  if (kind && !kind.runGroup)
    report([...at, 'group_by'], true, `stages.${s.name}.group_by: stage kind ${kind.kind} cannot run instances together (it has no runGroup)`, 'remove group_by: (its instances run one by one), or implement runGroup in the kind');
}

/**
 * A reference that a grouped (or ungrouped) stage cannot make in `field`: a grouped command runs once
 * for all its members, so its command line cannot hold one member's grouped matrix value or outputs;
 * `${group.members}` exists only there.
 */
export function groupRefProblem(s: StageDecl, field: string, ref: Ref): { message: string; hint: string } | undefined {
  const grouped = s.group_by !== undefined && s.uses === undefined;
  const inCommand = field === 'run' || field === 'env';
  if (ref.root === 'group' && !(grouped && inCommand))
    return { message: '${group.members} is only available in run: and env: of a command stage with group_by:', hint: 'add group_by: [AXIS] to the stage, or drop the reference' };
  if (!grouped || !inCommand) return undefined;
  if (ref.root === 'matrix' && groupAxes(s).includes(ref.axis))
    return { message: `\${matrix.${ref.axis}} differs between the members of a group (group_by: ${ref.axis}), and the command runs once per group`, hint: 'read each member\'s matrix values from the file ${group.members} names' };
  if (ref.root === 'outs')
    return { message: `\${outs.${ref.name}}: each member of a group has its own outputs`, hint: 'read each member\'s output paths from the file ${group.members} names' };
  return undefined;
}
