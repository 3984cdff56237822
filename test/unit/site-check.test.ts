import test from 'ava';
import { PURGED_FLAG } from '../../lib/domain/purge.ts';
import {
  compareCurrent,
  duplicateSuccesses,
  formatViolation,
  newestSuccesses,
  orphanBuilds,
  parseVersionsCsv,
} from '../../lib/repo/site-check.ts';
import { VERSIONS_HEADER } from '../../lib/repo/links.ts';

const row = (
  id: number,
  projectName: string,
  commitHash: string,
  over: { type?: string; flags?: number } = {},
) => ({
  id,
  type: over.type ?? 'rpm',
  projectName,
  commitHash,
  distroHash: 'd'.repeat(40),
  extendedHash: null,
  component: null,
  artifacts: null,
  flags: over.flags ?? 0,
});

test('two SUCCESS rows of the same build key are one violation naming both ids; another type is another key', (t) => {
  const violations = duplicateSuccesses([
    row(1, 'a', 'c1'),
    row(2, 'a', 'c2'),
    row(3, 'a', 'c1'),
    row(4, 'a', 'c2', { type: 'container' }),
  ]);
  t.deepEqual(violations.map(formatViolation), ['duplicate-success a c1 dddddddd: SUCCESS rows 1, 3']);
});

test("a project's newest success is its highest id among unpurged rpm builds", (t) => {
  const newest = newestSuccesses([
    row(1, 'a', 'c1'),
    row(5, 'a', 'c5', { flags: PURGED_FLAG }),
    row(6, 'a', 'c6', { type: 'container' }),
    row(3, 'a', 'c3'),
  ]);
  t.is(newest.get('a')?.id, 3);
});

test('versions.csv hashes are read from the end of the line, so a multi-repo upstream list does not shift them', (t) => {
  const text = [
    VERSIONS_HEADER,
    'a,https://up/a,c1,https://dist/a,d1,SUCCESS,1700000000,None,None,a-1.0-1',
    "b,['https://up/b1', 'https://up/b2'],c2,https://dist/b,d2,FAILED,1700000000,None,None,b-1.0-1",
    '',
  ].join('\n');
  t.deepEqual(Object.fromEntries(parseVersionsCsv(text)), {
    a: { commitHash: 'c1', distroHash: 'd1' },
    b: { commitHash: 'c2', distroHash: 'd2' },
  });
});

test('current must list every newest success with its hashes', (t) => {
  const listed = new Map([
    ['a', { commitHash: 'c1', distroHash: 'd'.repeat(40) }],
    ['b', { commitHash: 'old', distroHash: 'd'.repeat(40) }],
  ]);
  const violations = compareCurrent('repos/current/versions.csv', listed, [
    row(1, 'a', 'c1'),
    row(2, 'b', 'c2'),
    row(3, 'c', 'c3'),
  ]);
  t.deepEqual(violations.map(formatViolation), [
    'current-outdated repos/current/versions.csv b: lists old/dddddddd, newest success id 2 c2/dddddddd',
    'current-missing repos/current/versions.csv c: newest success id 3 c3/dddddddd',
  ]);
});

test('a build is an orphan when its parent run is not running, or, parentless, when no run or import is', (t) => {
  const run = { workflowId: 'run:1', runId: 'r1' };
  const owned = { workflowId: 'build:a', runId: 'b1', parent: run };
  const abandoned = { workflowId: 'build:b', runId: 'b2', parent: { workflowId: 'run:0', runId: 'r0' } };
  const parentless = { workflowId: 'build:c', runId: 'b3' };
  t.deepEqual(orphanBuilds([owned, abandoned, parentless], [run]).map(formatViolation), [
    'orphan-build build:b (run b2): its parent run:0 is not running',
  ]);
  t.deepEqual(orphanBuilds([parentless], []).map(formatViolation), [
    'orphan-build build:c (run b3): no run or importCommit workflow is running',
  ]);
});
