import test from 'ava';
import { fallbackRefs } from '../../lib/domain/branches.ts';
import { buildOrder, dependencyNames, parseSpecDeps } from '../../lib/domain/build-order.ts';
import { applyWindow, byBuildOrder, commitWindow, newCommits } from '../../lib/domain/discovery.ts';
import type { CommitCandidate, StoredCommit } from '../../lib/domain/packages.ts';
import { mapLimit, selectPackages } from '../../lib/domain/select.ts';

const candidate = (over: Partial<CommitCandidate>): CommitCandidate => ({
  projectName: 'p',
  type: 'rpm',
  commitHash: 'c1',
  distroHash: 'd1',
  extendedHash: null,
  dtCommit: 100,
  dtDistro: 10,
  dtExtended: 0,
  commitBranch: 'master',
  repoDir: '/data/p',
  distgitDir: '/data/p_distro/',
  component: null,
  versionsCsv: null,
  ...over,
});
const row = (over: Partial<StoredCommit>): StoredCommit => ({
  id: 1,
  commitHash: 'c1',
  distroHash: 'd1',
  extendedHash: null,
  dtCommit: 100,
  dtBuild: 200,
  commitBranch: 'master',
  status: 'SUCCESS',
  type: 'rpm',
  ...over,
});

test('a package never processed builds only its newest commit', (t) => {
  t.deepEqual(commitWindow(null, null, 'master', false), { after: null, headOnly: true });
  t.deepEqual(applyWindow([1, 2, 3], { after: null, headOnly: true }), [3]);
});

test('on the same branch, commits after the last processed one are listed', (t) => {
  t.deepEqual(commitWindow(row({ dtCommit: 150.7 }), null, 'master', false), { after: 150, headOnly: false });
  t.deepEqual(commitWindow(row({}), null, 'master', true), { after: 100, headOnly: true });
});

test('after a branch switch discovery continues from the last build on the new branch, newest only', (t) => {
  const last = row({ commitBranch: 'stable/y' });
  t.deepEqual(commitWindow(last, row({ dtCommit: 90 }), 'master', false), { after: 90, headOnly: true });
  t.deepEqual(commitWindow(last, null, 'master', false), { after: null, headOnly: true });
});

test("DLRN's filter: same hashes or same commit time with the same distro hash count as built", (t) => {
  const stored = [row({}), row({ commitHash: 'c2', dtCommit: 300, status: 'RETRY' })];
  const fresh = [
    candidate({}),
    candidate({ commitHash: 'c2', dtCommit: 300 }),
    candidate({ commitHash: 'c3', dtCommit: 100 }),
    candidate({ distroHash: 'd2' }),
    candidate({ commitHash: 'c4', dtCommit: 400 }),
  ];
  t.deepEqual(
    newCommits(fresh, stored).map((c) => `${c.commitHash}/${c.distroHash}`),
    ['c2/d1', 'c1/d2', 'c4/d1'],
  );
  t.is(newCommits(fresh, stored, true).length, fresh.length, '--dev and --run keep every commit');
  t.is(newCommits([candidate({ extendedHash: 'x_y' })], stored).length, 1, 'a new extended hash is new');
});

test('the build order sorts by project position, then by commit time', (t) => {
  const queue = byBuildOrder(
    [
      candidate({ projectName: 'b', dtCommit: 2 }),
      candidate({ projectName: 'x' }),
      candidate({ projectName: 'a', dtCommit: 5 }),
      candidate({ projectName: 'b', dtCommit: 1 }),
    ],
    ['a', 'b'],
  );
  t.deepEqual(
    queue.map((c) => `${c.projectName}${c.dtCommit}`),
    ['a5', 'b1', 'b2', 'x100'],
  );
});

test('branch fallback follows DLRN: default source falls back, -rdo to rpm-master, nonfallback never', (t) => {
  const rules = {
    nonfallbackBranches: ['^master$', '^rpm-master$'],
    source: 'stable/zed',
    fallbackToMaster: true,
  };
  t.deepEqual(fallbackRefs('stable/zed', rules), {
    kind: 'try',
    refs: ['origin/unmaintained/zed', 'zed-eol', 'master'],
  });
  t.deepEqual(fallbackRefs('stable/zed', { ...rules, fallbackToMaster: false }), {
    kind: 'try',
    refs: ['origin/unmaintained/zed', 'zed-eol', 'main'],
  });
  t.deepEqual(fallbackRefs('zed-rdo', rules), { kind: 'try', refs: ['rpm-master'] });
  t.is(fallbackRefs('zed-rdo', { ...rules, fallbackToMaster: false }).kind, 'none');
  t.is(fallbackRefs('master', { ...rules, source: 'master' }).kind, 'none');
  t.is(fallbackRefs('feature', rules).kind, 'none');
  t.is(
    fallbackRefs('rhos-17', { ...rules, nonfallbackBranches: ['^rhos-'] }).kind,
    'none',
    'regexes match at the start',
  );
});

test('spec dependencies: macros, sub-packages, provides, versions and commas', (t) => {
  const spec = [
    '%global pypi_name foo',
    '%define with_docs 1',
    'Name: python-%{pypi_name}',
    'Provides: foo-compat = 1.0',
    'BuildRequires: python3-devel, python3-pbr >= 2.0 python3-setuptools',
    'Requires(post): systemd',
    'Requires: (a or b)',
    '# Requires: commented',
    '%package -n python3-%{pypi_name}',
    '%package doc',
  ].join('\n');
  t.deepEqual(parseSpecDeps('python-foo', spec), {
    project: 'python-foo',
    name: 'python-foo',
    provides: ['python-foo', 'foo-compat', 'python3-foo', 'python-foo-doc'],
    requires: ['python3-devel', 'python3-pbr', 'python3-setuptools', 'systemd'],
  });
  t.deepEqual(dependencyNames('a >= 1, b, c = 2:3-4 d'), ['a', 'b', 'c', 'd']);
});

test('the build order puts providers first and breaks cycles where they close', (t) => {
  const spec = (project: string, provides: string[], requires: string[]) => ({
    project,
    name: project,
    provides: [project, ...provides],
    requires,
  });
  t.deepEqual(buildOrder([spec('app', [], ['libfoo']), spec('foo', ['libfoo'], []), spec('tool', [], [])]), {
    order: ['foo', 'app', 'tool'],
    cycles: [],
  });
  const cyclic = buildOrder([spec('a', [], ['b']), spec('b', [], ['a'])]);
  t.deepEqual(cyclic, { order: ['b', 'a'], cycles: [['a', 'b', 'a']] });
});

test('--package-name and --project-name select packages; unknown names are listed', (t) => {
  const pkg = (name: string, project: string) => ({
    name,
    project,
    upstream: '',
    masterDistgit: '',
    maintainers: [],
    types: ['rpm' as const],
    extra: {},
  });
  const all = [pkg('python-a', 'a'), pkg('b', 'b')];
  t.deepEqual(selectPackages(all, [], []).selected.length, 2);
  t.deepEqual(selectPackages(all, ['b', 'zz'], []), { selected: [all[1]!], unknown: ['zz'] });
  t.deepEqual(selectPackages(all, [], ['a']).selected, [all[0]!]);
});

test('mapLimit keeps order and never runs more than the limit at once', async (t) => {
  let running = 0;
  let peak = 0;
  const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, n));
    running--;
    return n * 10;
  });
  t.deepEqual(out, [50, 10, 40, 20, 30]);
  t.is(peak, 2);
});
