// `group_by:` checked at load (src/pipeline/group-by.ts), in the test process: which axes may be grouped,
// which kinds can run a group, and which references a grouped command cannot make, each located. group.test.ts
// and group-kind.test.ts run groups through `pipe`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupAxes, groupRefProblem } from '../../src/pipeline/group-by.js';
import type { Ref } from '../../src/pipeline/interpolate.js';
import type { StageDecl } from '../../src/pipeline/types.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';
import { loader, testKind } from '../support/load.js';

let ws: TempWorkspace;
beforeAll(() => {
  ws = tempWorkspace();
});
afterAll(() => ws.cleanup());

const { ok, errors } = loader(() => ws, { 'test/solo': testKind('test/solo'), 'test/group': testKind('test/group', { async runGroup() {} }) });

const MEMBERS_ONLY = '${group.members} is only available in run: and env: of a command stage with group_by:\n  hint: add group_by: [AXIS] to the stage, or drop the reference';
const DIFFERS = "differs between the members of a group (group_by: a), and the command runs once per group\n  hint: read each member's matrix values from the file ${group.members} names";
const OWN_OUTPUTS = "each member of a group has its own outputs\n  hint: read each member's output paths from the file ${group.members} names";

describe('group_by: at load', () => {
  it('names axes of the stage, a kind that can run a group, and comes before group_size:', async () => {
    expect(
      await errors(`
stages:
  s:
    run: [echo]
    group_size: 2
  t:
    matrix: { a: [1, 2], b: [x] }
    run: [echo, "\${group.members}"]
    group_by: [a, c, b]
  u:
    run: [echo, "\${group.members}"]
    group_by: [z]
  k:
    uses: test/solo
    matrix: { a: [1] }
    group_by: [a]
  g:
    uses: test/group
    matrix: { a: [1] }
    group_by: [a]
`),
    ).toEqual([
      '5:5: error: stages.s.group_size: needs group_by:\n  hint: add group_by: [AXIS], or remove group_size:',
      '9:19: error: stages.t.group_by: "c" is not a matrix axis of t\n  hint: axes of t: a, b',
      '12:16: error: stages.u.group_by: "z" is not a matrix axis of u\n  hint: add matrix: { z: [...] }',
      '16:5: error: stages.k.group_by: stage kind test/solo cannot run instances together (it has no runGroup)\n  hint: remove group_by: (its instances run one by one), or implement runGroup in the kind',
    ]);
  });

  it('a grouped command reads members from ${group.members}: not a grouped axis, not its outputs, in run: or env:', async () => {
    expect(
      await errors(`
stages:
  s:
    matrix: { a: [1, 2], b: [x] }
    run: [echo, "\${group.members}", "\${matrix.a}", "\${matrix.b}", "\${outs.o}"]
    env: { M: "\${group.members}", A: "\${matrix.a}", B: "\${matrix.b}", O: "\${outs.o}" }
    deps: ["\${matrix.a}.txt", "\${group.members}"]
    outs: { o: "o-\${matrix.a}.txt" }
    group_by: [a]
    group_size: 1
`),
    ).toEqual([
      `5:37: error: stages.s.run[2]: \${matrix.a} ${DIFFERS}`,
      `5:67: error: stages.s.run[4]: \${outs.o}: ${OWN_OUTPUTS}`,
      `6:38: error: stages.s.env.A: \${matrix.a} ${DIFFERS}`,
      `6:74: error: stages.s.env.O: \${outs.o}: ${OWN_OUTPUTS}`,
      `7:31: error: stages.s.deps[1]: ${MEMBERS_ONLY}`,
    ]);
  });

  it('${group.members} exists only in a grouped command', async () => {
    expect(
      await errors(`
stages:
  t:
    matrix: { a: [1] }
    run: [echo, "\${group.members}"]
    env: { M: "\${group.members}" }
  g:
    uses: test/group
    matrix: { a: [1] }
    group_by: [a]
    with: { x: "\${group.members}", y: "\${matrix.a}" }
`),
    ).toEqual([`5:17: error: stages.t.run[1]: ${MEMBERS_ONLY}`, `6:15: error: stages.t.env.M: ${MEMBERS_ONLY}`, `11:16: error: stages.g.with.x: ${MEMBERS_ONLY}`]);
  });

  it('loads a grouped stage that makes none of those references', async () => {
    const p = await ok(`
stages:
  s:
    matrix: { a: [1, 2], b: [x] }
    run: [echo, "\${group.members}", "\${matrix.b}"]
    env: { M: "\${group.members}", B: "\${matrix.b}" }
    deps: ["\${matrix.a}.txt"]
    outs: { o: "o-\${matrix.a}.txt" }
    group_by: [a]
    group_size: 1
  g:
    uses: test/group
    matrix: { a: [1] }
    group_by: [a]
    with: { y: "\${matrix.a}" }
`);
    expect(p.byId.get('s@a=1,b=x')?.stage.group_by).toEqual(['a']);
    expect(p.byId.get('s@a=1,b=x')?.stage.group_size).toBe(1);
  });
});

describe('groupRefProblem and groupAxes', () => {
  const decl = (s: Partial<StageDecl>): StageDecl => ({ name: 's', ...s });
  const members: Ref = { root: 'group', name: 'members' } as unknown as Ref;
  const axisA: Ref = { root: 'matrix', axis: 'a', path: [] };
  const param: Ref = { root: 'params', name: 'p', path: [] };

  it('a kind stage with group_by is not a grouped command', () => {
    const k = decl({ uses: 'test/group', group_by: ['a'], matrix: { a: [1] } });
    expect(groupRefProblem(k, 'run', members)?.message).toBe('${group.members} is only available in run: and env: of a command stage with group_by:');
    expect(groupRefProblem(k, 'run', axisA)).toBeUndefined();
  });

  it('only a grouped axis, an output or a misplaced ${group.members} is a problem', () => {
    const c = decl({ run: ['x'], group_by: ['a'], matrix: { a: [1], b: [2] } });
    expect(groupRefProblem(c, 'env', members)).toBeUndefined();
    expect(groupRefProblem(c, 'run', param)).toBeUndefined();
    expect(groupRefProblem(c, 'run', { root: 'matrix', axis: 'b', path: [] })).toBeUndefined();
    expect(groupRefProblem(c, 'deps', axisA)).toBeUndefined();
    expect(groupRefProblem(c, 'with', members)?.hint).toBe('add group_by: [AXIS] to the stage, or drop the reference');
    expect(groupRefProblem(decl({ run: ['x'] }), 'run', axisA)).toBeUndefined();
  });

  it('groupAxes: the list, or none', () => {
    expect(groupAxes({ group_by: ['a', 'b'] })).toEqual(['a', 'b']);
    expect(groupAxes({})).toEqual([]);
    expect(groupAxes({ group_by: 'a' as unknown as string[] })).toEqual([]);
  });
});
