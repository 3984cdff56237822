import test from 'ava';
import {
  decidePurge,
  PURGED_FLAG,
  successKey,
  type PurgeCandidate,
  type PurgeFacts,
} from '../../lib/domain/purge.ts';

const candidate = (
  id: number,
  projectName: string,
  status: string,
  dtBuild: number,
  extra: Partial<PurgeCandidate> = {},
): PurgeCandidate => ({
  id,
  projectName,
  commitHash: `c${id}`,
  status,
  dtBuild,
  flags: 0,
  dir: `d${id}`,
  ...extra,
});

const facts = (over: Partial<PurgeFacts> = {}): PurgeFacts => ({
  newestSuccess: new Map(),
  successfulCommits: new Set(),
  excluded: new Set(),
  ...over,
});

test("a project's newest successful build is kept whole; older successes are cleaned, then removed", (t) => {
  // Newest id first, as the activity queries them.
  const decision = decidePurge(
    [candidate(4, 'a', 'SUCCESS', 40), candidate(3, 'a', 'SUCCESS', 30), candidate(2, 'a', 'SUCCESS', 20)],
    facts({ newestSuccess: new Map([['a', 40]]) }),
  );
  t.deepEqual(
    decision.kept.map((c) => c.id),
    [4],
  );
  t.deepEqual(
    decision.steps.map((s) => [s.id, s.action]),
    [
      [3, 'keep-rpms'],
      [2, 'remove'],
    ],
  );
});

test('when a newer successful build exists after the cut-off, the first old success keeps its RPMs only', (t) => {
  const decision = decidePurge(
    [candidate(7, 'b', 'SUCCESS', 70), candidate(5, 'b', 'SUCCESS', 50)],
    facts({ newestSuccess: new Map([['b', 99]]) }),
  );
  t.deepEqual(decision.kept, []);
  t.deepEqual(
    decision.steps.map((s) => [s.id, s.action]),
    [
      [7, 'keep-rpms'],
      [5, 'remove'],
    ],
  );
});

test('a failed build sharing its commit with a successful one is only flagged; other failures are removed', (t) => {
  const decision = decidePurge(
    [
      candidate(9, 'c', 'FAILED', 90, { commitHash: 'shared' }),
      candidate(8, 'c', 'FAILED', 80),
      candidate(6, 'c', 'RETRY', 60),
    ],
    facts({ successfulCommits: new Set([successKey('c', 'shared')]) }),
  );
  t.deepEqual(
    decision.steps.map((s) => [s.id, s.action]),
    [
      [9, 'flag-only'],
      [8, 'remove'],
      [6, 'remove'],
    ],
  );
});

test('purged and excluded builds are left alone, and do not count as the project handled', (t) => {
  const decision = decidePurge(
    [
      candidate(5, 'd', 'SUCCESS', 50, { flags: PURGED_FLAG }),
      candidate(4, 'd', 'SUCCESS', 40),
      candidate(3, 'd', 'SUCCESS', 30),
      candidate(2, 'd', 'SUCCESS', 20),
    ],
    facts({ newestSuccess: new Map([['d', 60]]), excluded: new Set([4]) }),
  );
  t.is(decision.alreadyPurged, 1);
  t.deepEqual(
    decision.excluded.map((c) => c.id),
    [4],
  );
  t.deepEqual(
    decision.steps.map((s) => [s.id, s.action]),
    [
      [3, 'keep-rpms'],
      [2, 'remove'],
    ],
  );
});

test('projects are handled independently', (t) => {
  const decision = decidePurge(
    [
      candidate(4, 'x', 'SUCCESS', 40),
      candidate(3, 'y', 'SUCCESS', 30),
      candidate(2, 'x', 'SUCCESS', 20),
      candidate(1, 'y', 'SUCCESS', 10),
    ],
    facts({
      newestSuccess: new Map([
        ['x', 40],
        ['y', 35],
      ]),
    }),
  );
  t.deepEqual(
    decision.kept.map((c) => c.id),
    [4],
  );
  t.deepEqual(
    decision.steps.map((s) => [s.id, s.action]),
    [
      [3, 'keep-rpms'],
      [2, 'keep-rpms'],
      [1, 'remove'],
    ],
  );
});
