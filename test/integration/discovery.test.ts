/**
 * Package discovery through the real `run` workflow (mode `plan`) on the dev server, with the
 * real activities, over git repositories this test creates: upstreams, distgits, a distroinfo
 * info repository with tags and components, a gitrepo-style monorepo, a local package and a
 * downstream versions.csv.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setupDownstreamDistgit } from '../../activities/pkginfo/downstream.ts';
import type { CommitCandidate } from '../../lib/domain/packages.ts';
import type { RunInput, RunResult } from '../../workflows/run.ts';
import { runInput } from '../helpers/run-input.ts';
import { worldsOf, type World as HelperWorld } from '../helpers/world.ts';
import { checkoutNewBranch, commitFiles, createRepo, specFile } from '../../scripts/demo/git-repo.ts';
import { connectTemporal, executeWorkflow, type TemporalTestEnv } from '../helpers/temporal.ts';

const T0 = 1_700_000_000;
let worlds: Awaited<ReturnType<typeof worldsOf>>;
let root: string;
let env: TemporalTestEnv;

const infoYaml = (upstream: string, distgit: string) => `
package-default:
  name: '%(project)s'
  upstream: ${upstream}/%(project)s
  master-distgit: ${distgit}/%(project)s-distgit
  maintainers: [team@example.com]
  tags: {zed: }
package-configs:
  core:
    component: core
  client:
    component: clients
    maintainers: [clients@example.com]
packages:
- project: pkg-a
  conf: core
- project: pkg-b
  conf: client
- project: pkg-c
  conf: client
  tags:
    zed:
      source-branch: stable/zed
- project: pkg-d
  conf: core
  tags:
    antelope:
- project: broken
  conf: core
  upstream: ${upstream}/does-not-exist
`;

test.before(async () => {
  worlds = await worldsOf('discovery');
  root = worlds.root;
  env = await connectTemporal();
});

interface Repos {
  /** Folder holding upstream/, distgit/ and info/. */
  dir: string;
  info: string;
  /** Upstream HEAD of each package. */
  heads: Record<string, string>;
}

/** Upstreams, distgits and an info repository of the test's own (tests change them). */
const makeRepos = async (): Promise<Repos> => {
  const dir = await mkdtemp(join(root, 'repos-'));
  const up = join(dir, 'upstream');
  const dg = join(dir, 'distgit');
  const heads: Record<string, string> = {
    'pkg-a': await createRepo(join(up, 'pkg-a'), { README: 'a1' }, T0 + 100),
    'pkg-b': await createRepo(join(up, 'pkg-b'), { README: 'b1' }, T0 + 50),
    'pkg-c': await createRepo(join(up, 'pkg-c'), { README: 'c1' }, T0 + 70),
    'pkg-d': await createRepo(join(up, 'pkg-d'), { README: 'd1' }, T0 + 80),
  };
  const specs: Record<string, string> = {
    'pkg-a': specFile('pkg-a'),
    'pkg-b': specFile('pkg-b', '1.0.0', ['pkg-a']),
    'pkg-c': specFile('pkg-c', '1.0.0', ['pkg-b >= 1.0']),
    'pkg-d': specFile('pkg-d'),
    broken: specFile('broken'),
  };
  for (const [name, spec] of Object.entries(specs)) {
    await createRepo(join(dg, `${name}-distgit`), { [`${name}.spec`]: spec }, T0 + 10, 'rpm-master');
  }
  await createRepo(join(dir, 'info'), { 'rdo.yml': infoYaml(up, dg) }, T0);
  return { dir, info: join(dir, 'info'), heads };
};

test.after.always(async () => {
  await worlds?.close();
  await env?.close();
});

type World = Omit<HelperWorld, 'dir'>;

/** A datadir and SQLite database of the test's own, with this projects.ini. */
const world = (ini: string): Promise<World> => worlds.site(ini);

const rdoinfo = (source = 'master', extra = '') => `pkginfo_driver=dlrn.drivers.rdoinfo.RdoInfoDriver
build_driver=rpmbuild
distro=rpm-master
source=${source}
tags=zed
use_components=true
${extra}
[rdoinfo_driver]
info_files=rdo.yml
`;

const plan = async (
  title: string,
  w: World,
  repos: Repos | null,
  input: Partial<RunInput> = {},
): Promise<RunResult> => {
  const full = runInput(
    { ...(repos ? { infoRepo: repos.info } : {}), cwd: root, dev: false, local: false },
    {
      discoveryConcurrency: 3,
      ...input,
    },
  );
  return (await executeWorkflow<RunResult>(env, title, w, 'run', [full])).result;
};

/** Records the queued commits as built, as the build pipeline would. */
const recordBuilt = async (w: World, commits: CommitCandidate[], status = 'SUCCESS') => {
  for (const c of commits)
    await w.db.models.Commit.create({ ...c, status, dtBuild: T0 + 10_000, notes: 'OK' });
};

const summary = (queue: CommitCandidate[]) =>
  queue.map((c) => `${c.projectName}@${c.commitHash.slice(0, 7)}`);
const at = (repos: Repos, ...names: string[]) => names.map((n) => `${n}@${repos.heads[n]?.slice(0, 7)}`);

test('rdoinfo: tagged packages are listed and the newest commit of each is found, oldest first', async (t) => {
  const repos = await makeRepos();
  const w = await world(rdoinfo());
  const result = await plan(t.title, w, repos);
  t.deepEqual(result.packages, ['pkg-a', 'pkg-b', 'pkg-c', 'broken'], 'pkg-d lacks the zed tag');
  t.deepEqual(summary(result.queue), at(repos, 'pkg-b', 'pkg-a'));
  const a = result.queue.find((c) => c.projectName === 'pkg-a');
  t.like(a, {
    commitBranch: 'master',
    component: 'core',
    dtCommit: T0 + 100,
    extendedHash: null,
    type: 'rpm',
  });
  t.is(a?.distgitDir, `${w.datadir}/pkg-a_distro/`);
  t.is(a?.repoDir, join(w.datadir, 'pkg-a'));
  t.regex(a?.distroHash ?? '', /^[0-9a-f]{40}$/);
  t.is(result.queue.find((c) => c.projectName === 'pkg-b')?.component, 'clients');
  // pkg-c follows stable/zed (from its zed tag), which its upstream lacks; only the default
  // source branch falls back, so pkg-c is skipped, like the repository that cannot be cloned.
  t.deepEqual(
    result.skipped.map((s) => s.name),
    ['pkg-c', 'broken'],
  );
  t.regex(result.skipped[0]?.error ?? '', /branch stable\/zed does not exist/);
  t.regex(result.skipped[1]?.error ?? '', /cannot clone .*does-not-exist/);
  t.is(await readFile(join(w.datadir, 'repos', 'skiplist.txt'), 'utf8'), 'pkg-c\nbroken\n');
});

test('rdoinfo: built commits are not found again; new upstream commits are, oldest first', async (t) => {
  const repos = await makeRepos();
  const w = await world(rdoinfo());
  const first = await plan(t.title, w, repos);
  await recordBuilt(w, first.queue);
  t.deepEqual((await plan(t.title, w, repos)).queue, [], 'nothing new');

  const repo = join(repos.dir, 'upstream', 'pkg-b');
  const b2 = await commitFiles(repo, { README: 'b2' }, T0 + 200);
  const b3 = await commitFiles(repo, { README: 'b3' }, T0 + 300);
  const next = await plan(t.title, w, repos, { packageNames: ['pkg-b'] });
  t.deepEqual(summary(next.queue), [`pkg-b@${b2.slice(0, 7)}`, `pkg-b@${b3.slice(0, 7)}`]);
  const headOnly = await plan(t.title, w, repos, { packageNames: ['pkg-b'], headOnly: true });
  t.deepEqual(summary(headOnly.queue), [`pkg-b@${b3.slice(0, 7)}`]);
});

test('rdoinfo: a new distgit commit rebuilds the same source commit, and RETRY rows are rebuilt', async (t) => {
  const repos = await makeRepos();
  const w = await world(rdoinfo());
  const first = await plan(t.title, w, repos, { packageNames: ['pkg-a'] });
  await recordBuilt(w, first.queue, 'RETRY');
  const retried = await plan(t.title, w, repos, { packageNames: ['pkg-a'] });
  t.deepEqual(summary(retried.queue), summary(first.queue), 'a RETRY row does not count as built');
  await recordBuilt(w, retried.queue);
  t.deepEqual((await plan(t.title, w, repos, { packageNames: ['pkg-a'] })).queue, []);

  const distgit = join(repos.dir, 'distgit', 'pkg-a-distgit');
  await commitFiles(distgit, { 'pkg-a.spec': specFile('pkg-a', '1.0.1') }, T0 + 20);
  const rebuilt = await plan(t.title, w, repos, { packageNames: ['pkg-a'] });
  t.is(rebuilt.queue.length, 1);
  t.is(rebuilt.queue[0]?.commitHash, first.queue[0]?.commitHash);
  t.not(rebuilt.queue[0]?.distroHash, first.queue[0]?.distroHash);
});

test('--project-name selects by project; names that are not among the tagged packages are reported', async (t) => {
  const repos = await makeRepos();
  const w = await world(rdoinfo());
  const result = await plan(t.title, w, repos, { projectNames: ['pkg-a', 'pkg-d', 'nonexistent'] });
  t.deepEqual(result.packages, ['pkg-a']);
  t.deepEqual(result.unknownNames, ['pkg-d', 'nonexistent']);
});

test('the default source branch falls back to master when the upstream lacks it', async (t) => {
  const repos = await makeRepos();
  const w = await world(rdoinfo('stable/zed'));
  const result = await plan(t.title, w, repos, { packageNames: ['pkg-a', 'pkg-c'] });
  t.deepEqual(result.skipped, []);
  t.deepEqual(summary(result.queue), at(repos, 'pkg-c', 'pkg-a'));
  t.deepEqual(
    result.queue.map((c) => c.commitBranch),
    ['master', 'master'],
    'commit_branch is the branch used',
  );
});

test('a branch matching nonfallback_branches is not replaced: the package is skipped, the run goes on', async (t) => {
  const repos = await makeRepos();
  const w = await world(rdoinfo('stable/zed', 'nonfallback_branches=^master$,^stable/'));
  const result = await plan(t.title, w, repos, { packageNames: ['pkg-a', 'pkg-b'] });
  t.deepEqual(result.queue, []);
  t.deepEqual(
    result.skipped.map((s) => s.name),
    ['pkg-a', 'pkg-b'],
  );
  t.regex(result.skipped[0]?.error ?? '', /stable\/zed does not exist and matches nonfallback_branches/);
});

test('without fallback_to_master a missing source branch falls back to main, not master', async (t) => {
  const repos = await makeRepos();
  const w = await world(rdoinfo('stable/zed', 'fallback_to_master=0'));
  const result = await plan(t.title, w, repos, { packageNames: ['pkg-c'] });
  t.deepEqual(
    result.skipped.map((s) => s.name),
    ['pkg-c'],
    'this repository has no main branch',
  );
  t.regex(
    result.skipped[0]?.error ?? '',
    /stable\/zed does not exist, nor origin\/unmaintained\/zed, zed-eol, main/,
  );
  await checkoutNewBranch(join(repos.dir, 'upstream', 'pkg-c'), 'main');
  const withMain = await plan(t.title, w, repos, { packageNames: ['pkg-c'] });
  t.deepEqual(
    withMain.queue.map((c) => c.commitBranch),
    ['main'],
  );
});

test('--order builds packages after their build dependencies and reports cycles', async (t) => {
  const repos = await makeRepos();
  const w = await world(rdoinfo('stable/zed'));
  const names = { packageNames: ['pkg-c', 'pkg-b', 'pkg-a'] };
  const result = await plan(t.title, w, repos, { order: true, ...names });
  t.deepEqual(result.order?.order, ['pkg-a', 'pkg-b', 'pkg-c']);
  t.deepEqual(
    result.queue.map((c) => c.projectName),
    ['pkg-a', 'pkg-b', 'pkg-c'],
  );
  t.deepEqual(result.order?.cycles, []);
  const byDate = await plan(t.title, w, repos, names);
  t.deepEqual(
    byDate.queue.map((c) => c.projectName),
    ['pkg-b', 'pkg-c', 'pkg-a'],
    'without --order: commit time',
  );

  const distgit = join(repos.dir, 'distgit', 'pkg-a-distgit');
  await commitFiles(distgit, { 'pkg-a.spec': specFile('pkg-a', '1.0.1', ['pkg-c']) }, T0 + 30);
  const cyclic = await plan(t.title, w, repos, { order: true, ...names });
  t.deepEqual(cyclic.order?.cycles, [['pkg-a', 'pkg-c', 'pkg-b', 'pkg-a']]);
  t.deepEqual(cyclic.order?.order, ['pkg-b', 'pkg-c', 'pkg-a'], 'broken at the edge closing the cycle');
});

test('gitrepo: one directory per package, skip list honoured, upstream found from the templates', async (t) => {
  const dir = await mkdtemp(join(root, 'gitrepo-'));
  const mono = join(dir, 'rpm-packaging');
  const upstream = join(dir, 'upstream');
  await createRepo(
    mono,
    {
      'openstack/alpha/alpha.spec.j2': specFile('alpha'),
      'openstack/beta/beta.spec.j2': specFile('beta', '2.0.0'),
      'openstack/skipped/skipped.spec.j2': specFile('skipped'),
    },
    T0 + 5,
  );
  const betaDistro = await commitFiles(
    mono,
    { 'openstack/beta/beta.spec.j2': specFile('beta', '2.0.1') },
    T0 + 6,
  );
  const alphaHead = await createRepo(join(upstream, 'alpha'), { 'setup.py': '' }, T0 + 500);
  await createRepo(join(upstream, 'beta'), { 'setup.py': '' }, T0 + 400);
  const w = await world(`pkginfo_driver=dlrn.drivers.gitrepo.GitRepoDriver
build_driver=rpmbuild
distro=master
source=master
[gitrepo_driver]
repo=${mono}
directory=/openstack
skip=skipped
upstream_urls=file://${dir}/nowhere/{module},file://${upstream}/{module}
`);
  const result = await plan(t.title, w, null);
  t.deepEqual(result.packages, ['alpha', 'beta']);
  t.deepEqual(
    result.queue.map((c) => c.projectName),
    ['beta', 'alpha'],
  );
  const beta = result.queue[0];
  t.is(beta?.distroHash, betaDistro, 'the last commit touching the package directory');
  t.is(beta?.distgitDir, join(w.datadir, 'package_info', 'openstack', 'beta'));
  t.is(result.queue[1]?.commitHash, alphaHead);
});

test('local: the current directory is built as it is, once per distgit commit', async (t) => {
  const local = join(await mkdtemp(join(root, 'local-')), 'hello');
  const distro = await createRepo(local, { 'hello.spec': specFile('hello', '3.1.4') }, T0 + 900);
  const w = await world('pkginfo_driver=dlrn.drivers.local.LocalDriver\nbuild_driver=rpmbuild\n');
  const input = { driverRun: { cwd: local, dev: false, local: false } };
  const result = await plan(t.title, w, null, input);
  t.deepEqual(result.packages, ['hello']);
  t.is(result.queue.length, 1);
  t.like(result.queue[0], {
    commitHash: 'hello-3.1.4',
    distroHash: distro,
    dtCommit: 0,
    repoDir: null,
    commitBranch: '3.1.4',
  });
  t.true(existsSync(join(w.datadir, 'hello', 'hello.spec')), 'the checkout was copied into datadir');
  await recordBuilt(w, result.queue);
  t.deepEqual((await plan(t.title, w, null, input)).queue, []);
});

test('downstream: builds the commits of versions.csv with the downstream distgit as extended hash', async (t) => {
  const repos = await makeRepos();
  const up = join(repos.dir, 'upstream');
  const dsDistgit = join(repos.dir, 'downstream-distgit');
  const dsHead = await createRepo(dsDistgit, { 'pkg-a.spec': specFile('pkg-a') }, T0 + 600, 'rhos-17');
  const info = join(repos.dir, 'ds-info');
  await createRepo(
    info,
    {
      'ds.yml': `
package-default:
  name: '%(project)s'
  upstream: ${up}/%(project)s
  master-distgit: ${repos.dir}/distgit/%(project)s-distgit
  maintainers: [ds@example.com]
  tags: {zed: , downstream: }
packages:
- project: pkg-a
  distgit: ${dsDistgit}
- project: pkg-b
  tags: {zed: }
`,
    },
    T0,
  );
  const upstreamDistro = (
    await readFile(join(repos.dir, 'distgit', 'pkg-a-distgit', '.git', 'refs', 'heads', 'rpm-master'), 'utf8')
  ).trim();
  const csv = join(repos.dir, 'versions.csv');
  await writeFile(
    csv,
    'Project,Source Repo,Source Sha,Dist Repo,Dist Sha,Status,Last Success Timestamp,Component,Extended Sha,Pkg NVR\n' +
      `pkg-a,${up}/pkg-a,${repos.heads['pkg-a']},x,${upstreamDistro},SUCCESS,${T0 + 100},None,None,pkg-a-1.0.0-1\n`,
  );
  const w = await world(`pkginfo_driver=dlrn.drivers.downstream.DownstreamInfoDriver
build_driver=rpmbuild
distro=rpm-master
source=master
tags=zed
[downstream_driver]
info_files=ds.yml
versions_url=file://${csv}
downstream_distro_branch=rhos-17
downstream_tag=downstream
`);
  const result = await plan(t.title, w, null, {
    driverRun: { infoRepo: info, cwd: root, dev: false, local: false },
  });
  t.deepEqual(result.packages, ['pkg-a'], 'pkg-b lacks the downstream tag');
  t.is(result.queue.length, 1);
  t.like(result.queue[0], {
    commitHash: repos.heads['pkg-a'],
    distroHash: upstreamDistro,
    extendedHash: dsHead,
    dtCommit: T0 + 100,
    dtDistro: 0,
    dtExtended: T0 + 600,
    versionsCsv: `file://${csv}`,
  });
});

test('status and recheck work on the last build of each package', async (t) => {
  const repos = await makeRepos();
  const w = await world(rdoinfo());
  const first = await plan(t.title, w, repos, { packageNames: ['pkg-a', 'pkg-b'] });
  await recordBuilt(
    w,
    first.queue.filter((c) => c.projectName === 'pkg-a'),
  );
  await recordBuilt(
    w,
    first.queue.filter((c) => c.projectName === 'pkg-b'),
    'FAILED',
  );
  const status = await plan(t.title, w, repos, { mode: 'status' });
  t.deepEqual(
    status.status?.map((s) => `${s.name} ${s.status}`),
    ['pkg-a SUCCESS', 'pkg-b FAILED', 'pkg-c NO_BUILD', 'broken NO_BUILD'],
  );
  const recheck = await plan(t.title, w, repos, {
    mode: 'recheck',
    packageNames: ['pkg-a', 'pkg-b', 'pkg-c'],
  });
  t.deepEqual(
    recheck.recheck?.map((r) => `${r.name} ${r.outcome}`),
    ['pkg-a successful', 'pkg-b deleted', 'pkg-c no-commit'],
  );
  t.is(await w.db.models.Commit.count({ where: { projectName: 'pkg-b' } }), 0);
  const forced = await plan(t.title, w, repos, {
    mode: 'recheck',
    packageNames: ['pkg-a'],
    forceRecheck: true,
  });
  t.deepEqual(
    forced.recheck?.map((r) => r.outcome),
    ['successful'],
    'allow_force_rechecks is off',
  );
});

test('--run runs the program for each package head with DLRN arguments instead of building', async (t) => {
  const repos = await makeRepos();
  const w = await world(
    `${rdoinfo()}`.replace('distro=rpm-master', 'distro=rpm-master\ntarget=centos9\nbaseurl=http://trunk/'),
  );
  const program = join(repos.dir, 'program.sh');
  const record = join(repos.dir, 'calls.txt');
  await writeFile(
    program,
    `#!/bin/sh\necho "$FOO $*" >> ${record}\nif [ "$2" = pkg-b ]; then echo "pkg-b is not welcome" >&2; exit 3; fi\n`,
    { mode: 0o755 },
  );
  const first = await plan(t.title, w, repos, { packageNames: ['pkg-a', 'pkg-b'] });
  await recordBuilt(w, first.queue);
  const result = await plan(t.title, w, repos, {
    packageNames: ['pkg-a', 'pkg-b'],
    runProgram: program,
    buildEnv: ['FOO=bar'],
  });
  t.deepEqual(
    result.programRuns?.map((r) => [r.projectName, r.exitCode]),
    [
      ['pkg-b', 3],
      ['pkg-a', 0],
    ],
    'already built heads are run too',
  );
  t.regex(result.programRuns?.[0]?.tail ?? '', /pkg-b is not welcome/);
  const calls = (await readFile(record, 'utf8')).trim().split('\n');
  const a = first.queue.find((c) => c.projectName === 'pkg-a');
  t.is(
    calls[1],
    `bar centos9 pkg-a ${w.datadir}/repos/component/core/${a?.commitHash.slice(0, 2)}/${a?.commitHash.slice(2, 4)}/${a?.commitHash}_${a?.distroHash.slice(0, 8)} ${w.datadir} http://trunk/ ${w.datadir}/pkg-a_distro`,
  );
  const stopped = await plan(t.title, w, repos, {
    packageNames: ['pkg-a', 'pkg-b'],
    runProgram: program,
    stop: true,
  });
  t.deepEqual(
    stopped.programRuns?.map((r) => r.projectName),
    ['pkg-b'],
    '--stop ends at the first failure',
  );
});

test('downstream with use_upstream_spec: upstream distgit copied over, replace rules applied, changelog kept', async (t) => {
  const dir = await mkdtemp(join(root, 'ds-setup-'));
  const downstream = join(dir, 'down');
  const upstream = join(dir, 'up');
  await createRepo(downstream, { 'pkg.spec': 'Name: pkg\nRelease: 1\n%changelog\n* downstream entry\n' }, T0);
  await createRepo(
    upstream,
    {
      'pkg.spec': 'Name: pkg\nRelease: 2%{?dist}\nSource1: extra.conf\n%changelog\n* upstream entry\n',
      'extra.conf': 'x=1\n',
      '.hidden': 'no',
    },
    T0,
  );
  await setupDownstreamDistgit(
    downstream,
    upstream,
    ['Release: (\\d+)/Release: \\1.downstream', 'extra/special'],
    true,
  );
  t.is(
    await readFile(join(downstream, 'pkg.spec'), 'utf8'),
    'Name: pkg\nRelease: 2.downstream%{?dist}\nSource1: special.conf\n%changelog\n* downstream entry\n',
  );
  t.is(await readFile(join(downstream, 'extra.conf'), 'utf8'), 'x=1\n');
  t.false(existsSync(join(downstream, '.hidden')));
});
