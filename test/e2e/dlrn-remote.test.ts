/**
 * `dlrn-remote` as a process: importing commits another instance built, from a hashed
 * repository served over HTTP on localhost (and a file: URL), into the demo instance. The
 * remote side is made here: a real noarch RPM from rpmbuild, its log, and DLRN's commit.yaml.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { commitDir } from '../../lib/domain/repo-layout.ts';
import { makeDemo } from '../../scripts/make-demo.ts';
import { specFile } from '../../scripts/demo/git-repo.ts';
import { runCli } from '../helpers/cli.ts';
import { serveDirectory } from '../helpers/remote.ts';
import { temporalAddress, uniqueTaskQueue } from '../helpers/services.ts';

const exec = promisify(execFile);

let dir: string;
let ini: string;
let remote: string;
let served: Awaited<ReturnType<typeof serveDirectory>>;
let base: string;
let db: Database;
const flags: string[] = [];

const AGENT = {
  hash: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
  distro: 'd00d1e5500112233445566778899aabbccddeeff',
};
const agentDir = commitDir({ commitHash: AGENT.hash, distroHash: AGENT.distro, extendedHash: null });
const RPM = 'demo-agent-9.9.9-1.noarch.rpm';

/** commit.yaml as DLRN writes it: every column a string, `None` for NULL. */
const commitYaml = (fields: Record<string, string>) =>
  `commits:\n- ${Object.entries({
    artifacts: 'None',
    commit_branch: 'master',
    component: 'None',
    distgit_dir: '/home/remote/data/demo-agent_distro',
    dt_extended: '0',
    extended_hash: 'None',
    flags: '0',
    id: '4242',
    notes: 'OK',
    repo_dir: '/home/remote/data/demo-agent',
    type: 'rpm',
    versions_csv: 'None',
    ...fields,
  })
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: '${v}'`)
    .join('\n  ')}\n`;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dlrnt-remote-'));
  ini = await makeDemo(join(dir, 'demo'));
  remote = join(dir, 'remote');
  const top = join(dir, 'rpmbuild');
  await mkdir(join(top, 'SPECS'), { recursive: true });
  const spec = specFile('demo-agent', '9.9.9')
    .split('\n')
    .filter((l) => !l.startsWith('Source0'))
    .join('\n');
  await writeFile(join(top, 'SPECS', 'demo-agent.spec'), spec);
  await exec('rpmbuild', ['-bb', '--define', `_topdir ${top}`, join(top, 'SPECS', 'demo-agent.spec')]);
  const hashed = join(remote, 'repos', agentDir);
  await mkdir(hashed, { recursive: true });
  await copyFile(join(top, 'RPMS', 'noarch', RPM), join(hashed, RPM));
  await writeFile(join(hashed, 'rpmbuild.log'), 'built on the remote builder\n');
  await writeFile(
    join(hashed, 'commit.yaml'),
    commitYaml({
      artifacts: `repos/${agentDir}/${RPM}`,
      commit_hash: AGENT.hash,
      distro_hash: AGENT.distro,
      dt_build: '1800000100',
      dt_commit: '1800000000.0',
      dt_distro: '1800000050',
      project_name: 'demo-agent',
      status: 'SUCCESS',
    }),
  );
  served = await serveDirectory(remote);
  base = served.url;
  flags.push(
    '--config-file',
    ini,
    '--config-override',
    `temporal.local_port=${temporalAddress().split(':')[1] ?? ''}`,
    '--config-override',
    `temporal.task_queue=${uniqueTaskQueue('dlrn-remote')}`,
  );
  db = await openDatabase(`sqlite:///${join(dir, 'demo', 'data', 'commits.sqlite')}`);
});

test.after.always(async () => {
  await db?.close();
  await served?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const remoteCli = (repoUrl: string) => runCli('dlrn-remote', [...flags, '--repo-url', repoUrl], { cwd: dir });
const data = (...parts: string[]) => join(dir, 'demo', 'data', ...parts);

test.serial(
  'a successful remote build is imported over HTTP: row, RPM, logs, repository and current',
  async (t) => {
    const result = await remoteCli(`${base}/repos/${agentDir}`);
    t.is(result.code, 0, result.stderr);
    t.regex(result.stdout, new RegExp(`Imported demo-agent ${AGENT.hash} \\(SUCCESS\\)`));

    const rows = await db.models.Commit.findAll();
    t.is(rows.length, 1);
    const row = rows[0]!.get({ plain: true });
    t.like(row, {
      projectName: 'demo-agent',
      commitHash: AGENT.hash,
      distroHash: AGENT.distro,
      status: 'SUCCESS',
      dtBuild: 1800000100,
      dtCommit: 1800000000,
      dtDistro: 1800000050,
      artifacts: `repos/${agentDir}/${RPM}`,
      component: null,
      extendedHash: null,
    });
    t.not(row.id, 4242, 'the remote id is dropped');

    const hashed = data('repos', agentDir);
    t.deepEqual(await readFile(join(hashed, RPM)), await readFile(join(remote, 'repos', agentDir, RPM)));
    t.is(await readFile(join(hashed, 'rpmbuild.log'), 'utf8'), 'built on the remote builder\n');
    t.true(existsSync(join(hashed, 'repodata', 'repomd.xml')));
    t.regex(await readFile(join(hashed, 'versions.csv'), 'utf8'), new RegExp(`demo-agent,.*,${AGENT.hash},`));
    t.true(existsSync(join(hashed, 'delorean.repo')));
    t.true(existsSync(join(hashed, 'commit.yaml')));
    t.is(await readlink(data('repos', 'current')), agentDir);
    // Imports never make a repository consistent, nor vote for it.
    t.false(existsSync(data('repos', 'consistent')));
    t.is(await db.models.CiVote.count(), 0);
    t.true(served.requests.includes(`/repos/${agentDir}/commit.yaml`));
    t.true(served.requests.includes(`/repos/${agentDir}/${RPM}`));
  },
);

test.serial('importing the same commit again is skipped: a build as new is already there', async (t) => {
  const result = await remoteCli(`${base}/repos/${agentDir}`);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /Skipped demo-agent .*: a newer commit of demo-agent is already built/);
  t.is(await db.models.Commit.count(), 1);
});

test.serial(
  'a failed remote build is imported from a file: URL, with its notes, and current stays',
  async (t) => {
    const hash = 'c0ffee0000000000000000000000000000000001';
    const failedDir = commitDir({ commitHash: hash, distroHash: AGENT.distro, extendedHash: null });
    await mkdir(join(remote, 'repos', failedDir), { recursive: true });
    await writeFile(join(remote, 'repos', failedDir, 'rpmbuild.log'), 'error: File not found\n');
    await writeFile(
      join(remote, 'repos', failedDir, 'commit.yaml'),
      commitYaml({
        commit_hash: hash,
        distro_hash: AGENT.distro,
        dt_build: '1800000200',
        dt_commit: '1800000150.5',
        dt_distro: '1800000050',
        notes: 'Error in build_rpm_wrapper for demo-common',
        project_name: 'demo-common',
        status: 'FAILED',
      }),
    );
    const result = await remoteCli(`file://${join(remote, 'repos', failedDir)}`);
    t.is(result.code, 0, result.stderr);
    const row = (await db.models.Commit.findOne({ where: { commitHash: hash } }))?.get({ plain: true });
    t.like(row, {
      projectName: 'demo-common',
      status: 'FAILED',
      notes: 'Error in build_rpm_wrapper for demo-common',
    });
    t.is(
      await readFile(data('repos', failedDir, 'notes.log'), 'utf8'),
      'Error in build_rpm_wrapper for demo-common',
    );
    t.is(await readFile(data('repos', failedDir, 'rpmbuild.log'), 'utf8'), 'error: File not found\n');
    t.is(await readlink(data('repos', 'current')), agentDir);
  },
);

test.serial('a bad commit.yaml is refused, naming the bad fields, and nothing is written', async (t) => {
  const bad = join(remote, 'bad');
  await mkdir(bad, { recursive: true });
  await writeFile(
    join(bad, 'commit.yaml'),
    "commits:\n- project_name: 'demo-ui'\n  status: 'BROKEN'\n  dt_commit: 'soon'\n",
  );
  const before = await db.models.Commit.count();
  const result = await remoteCli(`${base}/bad`);
  t.is(result.code, 1);
  t.regex(result.stderr, /InputError: .*commit\.yaml is not a DLRN commit\.yaml/);
  t.regex(result.stderr, /commits\.0\.commit_hash/);
  t.regex(result.stderr, /commits\.0\.status/);
  t.regex(result.stderr, /commits\.0\.dt_commit: "soon" is not a number/);
  t.is(await db.models.Commit.count(), before);
});

test.serial('an artifact path outside repos/ is refused', async (t) => {
  const evil = join(remote, 'evil');
  await mkdir(evil, { recursive: true });
  await writeFile(
    join(evil, 'commit.yaml'),
    commitYaml({
      artifacts: '../../etc/evil.rpm',
      commit_hash: 'e'.repeat(40),
      distro_hash: AGENT.distro,
      dt_build: '1800000300',
      dt_commit: '1800000300',
      dt_distro: '1800000300',
      project_name: 'demo-ui',
      status: 'SUCCESS',
    }),
  );
  const result = await remoteCli(`${base}/evil`);
  t.is(result.code, 1);
  t.regex(result.stderr, /artifact \.\.\/\.\.\/etc\/evil\.rpm is not an RPM under repos\//);
  t.is(await db.models.Commit.count({ where: { projectName: 'demo-ui' } }), 0);
  t.false(
    existsSync(
      data('repos', commitDir({ commitHash: 'e'.repeat(40), distroHash: AGENT.distro, extendedHash: null })),
    ),
  );
});

test('a repo URL that is not http, https or file is a usage error', async (t) => {
  const result = await runCli('dlrn-remote', ['--repo-url', 'ftp://example.com/x'], { cwd: dir });
  t.is(result.code, 2);
  t.regex(result.stderr, /ftp: URLs cannot be imported/);
});
