/**
 * Promotion criteria: the file's checks (each error names the file, the target and the key) and
 * the decision (jobs passed, by an alternative, waived, failed or missing; the newest candidate
 * that meets them, never an older one than the target's current).
 */
import test from 'ava';
import {
  evaluateCandidates,
  parseCriteria,
  type Candidate,
  type CandidateVote,
  type Waiver,
} from '../../lib/domain/promotion-criteria.ts';
import { checkPromoteName } from '../../lib/repo/promote.ts';

const FILE = '/etc/dlrn/criteria.yaml';
const parse = (text: string, useComponents = false) =>
  parseCriteria(FILE, text, checkPromoteName, useComponents);

test('a criteria file gives each target its source, jobs, alternatives, window and mode', (t) => {
  const criteria = parse(`
targets:
  tripleo-ci-testing:
    jobs: [periodic-a]
  current-tripleo:
    from: tripleo-ci-testing
    jobs: [periodic-a, periodic-b]
    alternatives:
      periodic-b: [periodic-b-rocky]
    candidates: 20
    dry_run: true
`);
  t.deepEqual(criteria.targets, [
    {
      name: 'tripleo-ci-testing',
      source: { kind: 'consistent' },
      jobs: ['periodic-a'],
      alternatives: {},
      candidates: 100,
      dryRun: false,
    },
    {
      name: 'current-tripleo',
      source: { kind: 'promotion', name: 'tripleo-ci-testing' },
      jobs: ['periodic-a', 'periodic-b'],
      alternatives: { 'periodic-b': ['periodic-b-rocky'] },
      candidates: 20,
      dryRun: true,
    },
  ]);
  t.deepEqual(
    parse(
      'targets:\n  promoted-components:\n    from: component-ci-testing\n    use_components: true\n    jobs: [j]\n',
      true,
    ).targets[0]?.source,
    { kind: 'aggregate', name: 'component-ci-testing' },
  );
});

test('a bad criteria file is refused naming the file, the target and the key', (t) => {
  const refused = (text: string, useComponents = false) =>
    t.throws(() => parse(text, useComponents))?.message.replace(`invalid configuration in ${FILE}:\n  `, '');
  t.is(
    refused('targets: [a'),
    'not YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 12:',
  );
  t.is(
    refused('targets:\n  ok:\n    jobs: []\n'),
    'targets.ok.jobs: names no job: a target needs at least one',
  );
  t.is(refused('targets:\n  ok:\n    jobs: [a]\n    job: [b]\n'), 'targets.ok: unknown key job');
  t.is(
    refused('targets:\n  ok:\n    jobs: [a]\n    candidates: 0\n'),
    'targets.ok.candidates: Too small: expected number to be >=1',
  );
  t.is(
    refused('targets:\n  ok:\n    jobs: [a]\n    dry_run: maybe\n'),
    'targets.ok.dry_run: Invalid input: expected boolean, received string',
  );
  t.is(refused('targets:\n  current:\n    jobs: [a]\n'), 'targets.current: Invalid promote_name current');
  t.is(
    refused('targets:\n  ok:\n    from: report.html\n    jobs: [a]\n'),
    'targets.ok.from: Invalid promote_name "report.html": the site writes a file or folder of this name itself',
  );
  t.is(
    refused('targets:\n  ok:\n    from: ok\n    jobs: [a]\n'),
    'targets.ok.from: a target cannot take its candidates from itself',
  );
  t.is(refused('targets:\n  ok:\n    jobs: [a, a]\n'), 'targets.ok.jobs: a is listed twice');
  t.is(
    refused('targets:\n  ok:\n    jobs: [a]\n    alternatives:\n      b: [c]\n'),
    "targets.ok.alternatives.b: b is not one of the target's jobs",
  );
  t.is(
    refused('targets:\n  ok:\n    from: x\n    use_components: true\n    jobs: [a]\n'),
    'targets.ok.use_components: aggregates exist only with use_components=true in projects.ini',
  );
  t.is(refused('other: 1\ntargets: {}\n'), 'unknown key other');
  t.is(refused('# nothing yet\n'), 'targets: missing: the file lists its targets under "targets:"');
});

const target = parse(`
targets:
  current-tripleo:
    from: tripleo-ci-testing
    jobs: [a, b, c]
    alternatives:
      b: [b2]
`).targets[0]!;
const candidate = (n: number): Candidate => ({
  key: `c${n}/d${n}`,
  commitHash: `c${n}`,
  distroHash: `d${n}`,
  time: 1000 + n,
});
const vote = (job: string, success: boolean, timestamp = 5000): CandidateVote => ({
  job,
  success,
  inProgress: false,
  url: `https://ci/${job}/${timestamp}`,
  timestamp,
});
const waiver = (over: Partial<Waiver> = {}): Waiver => ({
  id: 1,
  target: 'current-tripleo',
  job: 'c',
  reason: 'c is broken upstream, LP#1',
  expiresAt: 9000,
  candidate: null,
  user: 'ci',
  createdAt: 4000,
  ...over,
});

test('each job is passed, satisfied by an alternative, waived, failed or missing', (t) => {
  const votes = [vote('a', false, 10), vote('a', true, 11), vote('b2', true), vote('c', false)];
  const decision = evaluateCandidates(target, [candidate(1)], () => votes, [waiver()], undefined, 8000);
  t.deepEqual(decision.statuses[0]?.jobs, [
    { job: 'a', state: 'passed', url: 'https://ci/a/11', timestamp: 11 },
    { job: 'b', state: 'alternative', by: 'b2', url: 'https://ci/b2/5000', timestamp: 5000 },
    { job: 'c', state: 'waived', reason: 'c is broken upstream, LP#1', until: 9000, waiver: 1 },
  ]);
  t.is(decision.promote?.candidate.key, 'c1/d1');
  // The waiver expired: c's failure blocks again; an in-progress vote is no vote.
  const later = evaluateCandidates(
    target,
    [candidate(1)],
    () => [...votes, { ...vote('c', true), inProgress: true }],
    [waiver()],
    undefined,
    9000,
  );
  t.is(later.promote, undefined);
  t.like(later.statuses[0]?.jobs[2], { state: 'failed', url: 'https://ci/c/5000' });
  t.is(later.statuses[0]?.reason, 'failed: c');
  // A waiver for another candidate, or another target, does not count.
  for (const other of [waiver({ candidate: 'c9/d9' }), waiver({ target: 'other' })])
    t.is(
      evaluateCandidates(target, [candidate(1)], () => votes, [other], undefined, 8000).promote,
      undefined,
    );
  const none = evaluateCandidates(target, [candidate(1)], () => [], [], undefined, 8000);
  t.is(none.statuses[0]?.reason, 'no successful vote yet: a, b, c');
});

test('the newest candidate that meets the criteria is promoted, never one older than the current', (t) => {
  const passing = [vote('a', true), vote('b', true), vote('c', true)];
  const votesOf = (c: Candidate) => (c.key === 'c3/d3' ? [vote('a', true)] : passing);
  const candidates = [candidate(1), candidate(2), candidate(3)];
  const decision = evaluateCandidates(target, candidates, votesOf, [], undefined, 8000);
  t.deepEqual(
    decision.statuses.map((s) => [s.candidate.key, s.reason]),
    [
      ['c3/d3', 'no successful vote yet: b, c'],
      ['c2/d2', 'meets the criteria: promoted'],
      ['c1/d1', 'meets the criteria, but c2/d2 is newer'],
    ],
  );
  t.is(decision.promote?.candidate.key, 'c2/d2');
  // c2 is the current: nothing to do; c1 is older and stays where it is.
  const after = evaluateCandidates(target, candidates, votesOf, [], { key: 'c2/d2', time: 1002 }, 8000);
  t.is(after.promote, undefined);
  t.deepEqual(
    after.statuses.map((s) => s.reason),
    [
      'no successful vote yet: b, c',
      'is the current current-tripleo',
      'older than the current current-tripleo (c2/d2): a target never moves back',
    ],
  );
  // Only the newest `candidates` count.
  const narrow = { ...target, candidates: 1 };
  t.is(evaluateCandidates(narrow, candidates, votesOf, [], undefined, 8000).statuses.length, 1);
  t.is(evaluateCandidates(narrow, candidates, votesOf, [], undefined, 8000).promote, undefined);
});
