/**
 * Build steps beyond the plain rpmbuild path: spec templates, custom_preprocess, cancellation,
 * and the mock, koji and copr drivers. mock, koji and copr cannot run on this machine: their
 * tests put recording stand-in executables first on PATH (or as koji_exe) that check their
 * arguments and make real RPMs from the source RPM with rpmbuild.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { buildWorkflowId } from '../../lib/domain/temporal-names.ts';
import type { CommitCandidate } from '../../lib/domain/packages.ts';
import { demoSpec } from '../../scripts/make-demo.ts';
import type { BuildCommitInput, BuildCommitResult } from '../../workflows/build-commit.ts';
import type { RunResult } from '../../workflows/run.ts';
import { runInput } from '../helpers/run-input.ts';
import { worldsOf, type World } from '../helpers/world.ts';
import { uniqueTaskQueue } from '../helpers/services.ts';
import { connectTemporal, executeWorkflow, testWorker, type TemporalTestEnv } from '../helpers/temporal.ts';

const exec = promisify(execFile);
let worlds: Awaited<ReturnType<typeof worldsOf>>;
let root: string;
let env: TemporalTestEnv;

test.before(async () => {
  worlds = await worldsOf('steps');
  root = worlds.root;
  env = await connectTemporal();
  // The stand-ins for mock and copr, first on this test process's PATH (the worker runs here).
  const bin = join(root, 'bin');
  await mkdir(bin);
  process.env.PATH = `${bin}:${process.env.PATH ?? ''}`;
});
test.after.always(async () => {
  await worlds?.close();
  await env?.close();
});

/** One package tagged 2.0.0 whose distgit holds `distgit`, with `ini` in [DEFAULT]. */
const world = (name: string, distgit: Record<string, string>, ini = ''): Promise<World> =>
  worlds.world([{ name, tag: '2.0.0', distgit, distgitAt: 30 }], `maxretries=0\n${ini}`);

const discover = async (title: string, w: World): Promise<CommitCandidate> => {
  const input = runInput({ infoRepo: join(w.dir, 'info'), cwd: w.dir, dev: false, local: false });
  const [commit] = (await executeWorkflow<RunResult>(env, title, w, 'run', [input])).result.queue;
  if (!commit) throw new Error('nothing discovered');
  return commit;
};

const buildInput = (commit: CommitCandidate, buildEnv: string[] = []): BuildCommitInput => ({
  job: {
    commit,
    pkg: { name: commit.projectName, upstream: '', masterDistgit: '', maintainers: [] },
    buildEnv,
    bootstrap: false,
    verbose: false,
    usePublic: false,
  },
  maxretries: 0,
  retryInterval: '200 milliseconds',
});

const build = async (title: string, w: World, buildEnv: string[] = []) => {
  const commit = await discover(title, w);
  const { result } = await executeWorkflow<BuildCommitResult>(
    env,
    title,
    w,
    'buildCommit',
    [buildInput(commit, buildEnv)],
    buildWorkflowId(commit),
  );
  return { commit, result };
};

const pkg = (name: string) => ({ name, requires: [], summary: name, changes: 0, component: 'base' });

test('spec templates render with renderspec functions; an unknown function fails the build clearly', async (t) => {
  const template = demoSpec(pkg('templated'))
    .replace('License:        ASL 2.0', "License:        {{ license('Apache-2.0') }}")
    .replace(
      'BuildArch:      noarch',
      "BuildArch:      noarch\nRequires:       {{ py3pkg('oslo.config', ('>=', '6.0')) }}",
    );
  const w = await world('templated', { 'templated.spec.j2': template }, 'build_driver=rpmbuild');
  const { result } = await build(t.title, w);
  t.is(result.status, 'SUCCESS', result.notes);
  const rpm = result.artifacts.find((a) => a.endsWith('.noarch.rpm')) ?? '';
  const { stdout: requires } = await exec('rpm', ['-qp', '--requires', join(w.datadir, rpm)]);
  t.regex(requires, /^python3-oslo-config >= 6\.0$/m);
  const { stdout: license } = await exec('rpm', ['-qp', '--qf', '%{license}', join(w.datadir, rpm)]);
  t.is(license, 'ASL 2.0');

  const bad = await world('badtemplate', {
    'badtemplate.spec.j2': template.replace("{{ license('Apache-2.0') }}", '{{ nope() }}'),
  });
  const failed = await build(t.title, bad);
  t.is(failed.result.status, 'FAILED');
  t.is(
    failed.result.notes,
    "Error in build_rpm_wrapper for badtemplate: spec template badtemplate.spec.j2 calls nope(), which renderspec's fedora style does not provide",
  );
});

test('custom_preprocess programs run in order with exactly DLRN variables and no other environment', async (t) => {
  const dir = await mkdtemp(join(root, 'pre-'));
  const first = join(dir, 'first.sh');
  const second = join(dir, 'second.sh');
  const envFile = join(dir, 'env.txt');
  // sh itself adds PWD, SHLVL and _; everything else comes from DLRN's environment.
  await writeFile(
    first,
    `#!/bin/sh\nenv | grep -v -e '^PWD=' -e '^SHLVL=' -e '^_=' | sort > ${envFile}\necho "first" >> ${dir}/order\n`,
  );
  await writeFile(
    second,
    `#!/bin/sh\necho "second" >> ${dir}/order\nsed -i 's/^Summary: .*/Summary: preprocessed/' *.spec\n`,
  );
  await chmod(first, 0o755);
  await chmod(second, 0o755);
  const w = await world(
    'prep',
    { 'prep.spec': demoSpec(pkg('prep')) },
    `custom_preprocess=${first},${second}\nbuild_driver=rpmbuild`,
  );
  const { commit, result } = await build(t.title, w);
  t.is(result.status, 'SUCCESS', result.notes);
  t.is(await readFile(join(dir, 'order'), 'utf8'), 'first\nsecond\n');
  const vars = Object.fromEntries(
    (await readFile(envFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  t.deepEqual(Object.keys(vars).sort(), [
    'DLRN_DISTGIT',
    'DLRN_DISTROINFO_REPO',
    'DLRN_PACKAGE_NAME',
    'DLRN_SOURCEDIR',
    'DLRN_SOURCE_COMMIT',
    'DLRN_USER',
    'LANG',
    'MOCK_CONFIG',
    'RELEASE_DATE',
    'RELEASE_MINOR',
    'RELEASE_NUMBERING',
  ]);
  t.like(vars, {
    LANG: 'C',
    DLRN_PACKAGE_NAME: 'prep',
    DLRN_SOURCE_COMMIT: commit.commitHash,
    RELEASE_NUMBERING: '0.date.hash',
    RELEASE_MINOR: '0',
  });
  t.is(vars.DLRN_DISTROINFO_REPO, `${w.dir}/info/rdo.yml`);
  t.regex(vars.RELEASE_DATE ?? '', /^\d{14}$/);
  const { stdout } = await exec('rpm', [
    '-qp',
    '--qf',
    '%{summary}',
    join(w.datadir, result.artifacts.find((a) => a.endsWith('.src.rpm')) ?? ''),
  ]);
  t.is(stdout, 'preprocessed', 'the second program saw and changed the distgit');

  const failing = join(dir, 'failing.sh');
  await writeFile(failing, '#!/bin/sh\necho "cannot fetch the patches" >&2\nexit 4\n');
  await chmod(failing, 0o755);
  const w2 = await world(
    'prep-fail',
    { 'prep-fail.spec': demoSpec(pkg('prep-fail')) },
    `custom_preprocess=${failing}\nbuild_driver=rpmbuild`,
  );
  const failed = await build(t.title, w2);
  t.is(failed.result.status, 'FAILED');
  t.is(
    failed.result.notes,
    'Error in build_rpm_wrapper for prep-fail: Custom pre-process failed: cannot fetch the patches',
  );
});

test('--build-env variables reach the build', async (t) => {
  const spec = demoSpec(pkg('envpkg')).replace(
    'sh build.sh',
    'sh build.sh\necho "$DLRN_TEST_FLAVOR" > share/flavor',
  );
  const w = await world('envpkg', { 'envpkg.spec': spec }, 'build_driver=rpmbuild');
  const { result } = await build(t.title, w, ['DLRN_TEST_FLAVOR=spicy']);
  t.is(result.status, 'SUCCESS', result.notes);
  const rpm = join(w.datadir, result.artifacts.find((a) => a.endsWith('.noarch.rpm')) ?? '');
  const { stdout } = await exec('sh', ['-c', `rpm2archive - < ${rpm} | tar -xzO ./usr/share/envpkg/flavor`]);
  t.is(stdout, 'spicy\n');
});

test('cancelling a build stops rpmbuild and its children', async (t) => {
  const marker = `${600 + Math.floor(Math.random() * 1000)}.${Date.now() % 100000}`;
  const spec = demoSpec(pkg('slow')).replace('sh build.sh', `sleep ${marker}`);
  const w = await world('slow', { 'slow.spec': spec }, 'build_driver=rpmbuild');
  const commit = await discover(t.title, w);
  const taskQueue = uniqueTaskQueue(t.title);
  const worker = await testWorker(env, taskQueue, w);
  const running = async () =>
    (await exec('pgrep', ['-f', `sleep ${marker}`]).then(
      (r) => r.stdout.trim(),
      () => '',
    )) !== '';
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('buildCommit', {
      taskQueue,
      workflowId: buildWorkflowId(commit),
      args: [buildInput(commit)],
    });
    for (let i = 0; i < 300 && !(await running()); i++) await new Promise((r) => setTimeout(r, 100));
    t.true(await running(), 'the build is running');
    await handle.cancel();
    await t.throwsAsync(handle.result(), { instanceOf: WorkflowFailedError });
    for (let i = 0; i < 300 && (await running()); i++) await new Promise((r) => setTimeout(r, 100));
  });
  t.false(await running(), 'the sleep inside %build was killed');
  t.is(await w.db.models.Commit.count(), 0, 'a cancelled build records nothing');
});

/** Makes binary RPMs from a source RPM into a directory, as the real tools would. */
const REBUILD = (srpm: string, into: string) =>
  `/usr/bin/rpmbuild --rebuild --nodeps --define "_topdir $(mktemp -d)" --define "_rpmdir ${into}" --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" ${srpm} >/dev/null 2>&1`;

test('mock driver: DLRN mock command line, config from configdir and target, installed after build', async (t) => {
  const calls = join(root, 'mock-calls.txt');
  // Stand-in for mock: records its arguments, then builds the RPMs into --resultdir.
  await writeFile(
    join(root, 'bin', 'mock'),
    `#!/bin/sh\necho "$@" >> ${calls}\nwhile [ $# -gt 0 ]; do case "$1" in --resultdir) out="$2"; shift;; --rebuild) srpm="$2"; shift;; esac; shift; done\n${REBUILD('$srpm', '$out')}\necho "Finish: run"\n`,
    { mode: 0o755 },
  );
  const configdir = join(root, 'mockcfg');
  await mkdir(configdir, { recursive: true });
  await writeFile(
    join(configdir, 'centos9.cfg'),
    `config_opts['root'] = 'centos-stream-9-x86_64'\nconfig_opts['dnf.conf'] = """\n[main]\n"""\n`,
  );
  await writeFile(join(root, 'deps.repo'), '[deps]\nbaseurl=http://deps.example/\n');
  const w = await world(
    'mocked',
    { 'mocked.spec': demoSpec(pkg('mocked')) },
    `build_driver=dlrn.drivers.mockdriver.MockBuildDriver\ntarget=centos9\nconfigdir=${configdir}\ndeps_url=file://${root}/deps.repo`,
  );
  const { result } = await build(t.title, w);
  t.is(result.status, 'SUCCESS', result.notes);
  const out = join(w.datadir, result.outputDir);
  const srpm = (await readdir(out)).find((f) => f.endsWith('.src.rpm')) ?? '';
  t.is(
    (await readFile(calls, 'utf8')).trim(),
    `-v -r ${w.datadir}/dlrn-1.cfg --resultdir ${out} --rebuild ${out}/${srpm} --postinstall`,
  );
  const cfg = await readFile(join(w.datadir, 'dlrn-1.cfg'), 'utf8');
  t.regex(cfg, /config_opts\['root'\] = 'centos-stream-9-x86_64-1'/);
  t.regex(cfg, /\[deps\]\nbaseurl=http:\/\/deps.example\/\n\n?"""\n$/);
  t.true(result.artifacts.some((a) => a.endsWith('.noarch.rpm')));
  t.regex(
    await readFile(join(out, 'rpmbuild.log'), 'utf8'),
    /Finish: run/,
    'mock.log appended to rpmbuild.log',
  );
});

test('koji driver: build --wait with Kerberos options, task parsed, logs downloaded', async (t) => {
  const calls = join(root, 'koji-calls.txt');
  const koji = join(root, 'koji-standin');
  // Stand-in for koji (given as koji_exe): records its arguments and environment; `build`
  // remembers the SRPM and prints the task, `download-task` makes the RPMs in its directory.
  await writeFile(
    koji,
    `#!/bin/sh\necho "PATH=$PATH $*" >> ${calls}\nfor a in "$@"; do case "$a" in *.src.rpm) echo "$a" > ${root}/koji-srpm;; esac; done\ncase " $* " in *" build "*) echo "Created task: 4242"; echo "Task 4242 completed";; *" download-task "*) ${REBUILD('$(cat ' + root + '/koji-srpm)', '$PWD')}; echo log > build.log;; esac\n`,
    { mode: 0o755 },
  );
  const w = await world(
    'kojied',
    { 'kojied.spec': demoSpec(pkg('kojied')) },
    `build_driver=dlrn.drivers.kojidriver.KojiBuildDriver\n[kojibuild_driver]\nkoji_exe=${koji}\nkrb_principal=dlrn@EXAMPLE.COM\nkrb_keytab=/etc/dlrn.keytab\nbuild_target=rdo-target\nadditional_koji_tags=extra-tag`,
  );
  const { result } = await build(t.title, w);
  t.is(result.status, 'SUCCESS', result.notes);
  const out = join(w.datadir, result.outputDir);
  const srpm = (await readdir(out)).find((f) => f.endsWith('.src.rpm')) ?? '';
  const auth = '--principal dlrn@EXAMPLE.COM --keytab /etc/dlrn.keytab';
  t.deepEqual((await readFile(calls, 'utf8')).trim().split('\n'), [
    `PATH=/usr/bin/ ${auth} build --wait rdo-target ${out}/${srpm} --scratch`,
    `PATH=/usr/bin/ ${auth} tag-build extra-tag ${srpm.replace(/\.src\.rpm$/, '')}`,
    `PATH=/usr/bin/ ${auth} download-task --logs 4242`,
  ]);
  t.true(result.artifacts.some((a) => a.endsWith('.noarch.rpm')));
  t.regex(await readFile(join(out, 'kojibuild.log'), 'utf8'), /Created task: 4242/);
});

test('copr driver: copr build, build id parsed, results copied from the chroot directory', async (t) => {
  const calls = join(root, 'copr-calls.txt');
  // Stand-in for copr: `build` prints the build id, `download-build -d DIR ID` fills DIR/<chroot>.
  await writeFile(
    join(root, 'bin', 'copr'),
    `#!/bin/sh\necho "$*" >> ${calls}\ncase "$1" in build) echo "$3" > ${root}/copr-srpm; echo "Created builds: 777";; download-build) mkdir -p "$3/fedora-rawhide-x86_64"; ${REBUILD('$(cat ' + root + '/copr-srpm)', '"$3/fedora-rawhide-x86_64"')}; echo x | gzip > "$3/fedora-rawhide-x86_64/builder-live.log.gz";; esac\n`,
    { mode: 0o755 },
  );
  const w = await world(
    'coprd',
    { 'coprd.spec': demoSpec(pkg('coprd')) },
    'build_driver=dlrn.drivers.coprdriver.CoprBuildDriver\ncoprid=me/trunk',
  );
  const { result } = await build(t.title, w);
  t.is(result.status, 'SUCCESS', result.notes);
  const out = join(w.datadir, result.outputDir);
  const srpm = (await readdir(out)).find((f) => f.endsWith('.src.rpm')) ?? '';
  t.deepEqual((await readFile(calls, 'utf8')).trim().split('\n'), [
    `build me/trunk ${out}/${srpm}`,
    `download-build -d ${out}/777 777`,
  ]);
  const files = await readdir(out);
  t.true(files.includes('builder-live.log.gz'));
  t.false(files.includes('777'), 'the download directory is removed');
  t.true(result.artifacts.some((a) => a.endsWith('.noarch.rpm')));
});

test('koji rhpkg mode: kinit, import and commit to the distgit, new distro hash, build with the task downloaded', async (t) => {
  const calls = join(root, 'rhpkg-calls.txt');
  // Stand-ins for kinit, rhpkg and koji: they record their arguments; rhpkg commit really
  // commits to the distgit clone, rhpkg build prints a task, koji download-task makes the RPMs.
  await writeFile(join(root, 'bin', 'kinit'), `#!/bin/sh\necho "kinit $*" >> ${calls}\n`, { mode: 0o755 });
  await writeFile(
    join(root, 'bin', 'rhpkg'),
    `#!/bin/sh\necho "rhpkg $1 $2" >> ${calls}\ncase "$1" in import) cp "$3" . ; echo "$PWD/$(basename "$3")" > ${root}/rhpkg-srpm;; commit) /usr/bin/git add -A && /usr/bin/git -c user.name=R -c user.email=r@x commit -q -m "$4";; build) echo "Created task: 99";; esac\n`,
    { mode: 0o755 },
  );
  const koji = join(root, 'koji-rh');
  await writeFile(
    koji,
    `#!/bin/sh\necho "koji $*" >> ${calls}\ncase "$1" in download-task) ${REBUILD('$(cat ' + root + '/rhpkg-srpm)', '$PWD')};; esac\n`,
    { mode: 0o755 },
  );
  const w = await world(
    'rhpkgd',
    { 'rhpkgd.spec': demoSpec(pkg('rhpkgd')) },
    `build_driver=dlrn.drivers.kojidriver.KojiBuildDriver\n[kojibuild_driver]\nkoji_exe=${koji}\nuse_rhpkg=true\nscratch_build=false\nkrb_principal=dlrn@EXAMPLE.COM\nkrb_keytab=/etc/k.keytab`,
  );
  const { commit, result } = await build(t.title, w);
  t.is(result.status, 'SUCCESS', result.notes);
  const recorded = await w.db.models.Commit.findByPk(result.commitId);
  const distro = recorded?.getDataValue('distroHash') ?? '';
  t.not(distro, commit.distroHash, 'the rhpkg commit is the new distro hash');
  const { stdout: head } = await exec('git', ['rev-parse', 'HEAD'], {
    cwd: join(w.datadir, 'rhpkgd_distro'),
  });
  t.is(distro, head.trim());
  t.is(
    result.outputDir,
    `repos/${commit.commitHash.slice(0, 2)}/${commit.commitHash.slice(2, 4)}/${commit.commitHash}_${distro.slice(0, 8)}`,
  );
  t.true(result.artifacts.every((a) => a.startsWith(`${result.outputDir}/`)));
  const lines = (await readFile(calls, 'utf8')).trim().split('\n');
  t.deepEqual(
    lines.map((l) => l.split(' ').slice(0, 2).join(' ')),
    ['kinit -k', 'rhpkg import', 'rhpkg commit', 'rhpkg build', 'koji download-task'],
  );
  t.is(lines[0], 'kinit -k -t /etc/k.keytab dlrn@EXAMPLE.COM');
  t.is(lines[3], 'rhpkg build --skip-nvr-check');
  const { stdout: message } = await exec('git', ['log', '-1', '--format=%B'], {
    cwd: join(w.datadir, 'rhpkgd_distro'),
  });
  t.regex(
    message,
    new RegExp(
      `^DLRN build at \\d{4}-\\d{2}-\\d{2}-\\d{6}\\n\\nSource SHA: ${commit.commitHash}\\nDist SHA: ${commit.distroHash}\\nNVR: rhpkgd-`,
    ),
  );
});

test('gerrit set: a failed build opens a review on the distgit with the topic and maintainers', async (t) => {
  const calls = join(root, 'review-calls.txt');
  // Stand-ins for git-review and ssh (Gerrit cannot exist here): they record their arguments.
  await writeFile(join(root, 'bin', 'git-review'), `#!/bin/sh\necho "git-review $*" >> ${calls}\n`, {
    mode: 0o755,
  });
  await writeFile(join(root, 'bin', 'ssh'), `#!/bin/sh\necho "ssh $*" >> ${calls}\n`, { mode: 0o755 });
  const spec = demoSpec(pkg('reviewed')).replace('sh build.sh', 'echo "boom" >&2; exit 1');
  const w = await world(
    'reviewed',
    {
      'reviewed.spec': spec,
      '.gitreview': '[gerrit]\nhost=review.example.org\nport=29418\nproject=reviewed-distgit\n',
    },
    'build_driver=rpmbuild\ngerrit=\ngerrit_topic=demo-FTBFS',
  );
  const commit = await discover(t.title, w);
  const input = buildInput(commit);
  input.job.pkg = {
    ...input.job.pkg,
    upstream: `${w.dir}/upstream/reviewed`,
    maintainers: ['t@example.com'],
  };
  const { result } = await executeWorkflow<BuildCommitResult>(
    env,
    t.title,
    w,
    'buildCommit',
    [input],
    buildWorkflowId(commit),
  );
  t.is(result.status, 'FAILED');
  const distgit = join(w.datadir, 'reviewed_distro');
  const short = commit.commitHash.slice(0, 7);
  const { stdout: branch } = await exec('git', ['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: distgit });
  t.is(branch.trim(), `branch-${short}`);
  const { stdout: message } = await exec('git', ['log', '-1', '--format=%B'], { cwd: distgit });
  t.regex(message, new RegExp(`^reviewed: failed to build ${short}\\n`));
  t.regex(
    await readFile(join(distgit, 'reviewed.spec'), 'utf8'),
    new RegExp(`# REMOVEME: error caused by commit ${w.dir}/upstream/reviewed${commit.commitHash}\\n$`),
  );
  const lines = (await readFile(calls, 'utf8')).trim().split('\n');
  t.is(lines[0], 'git-review -t demo-FTBFS');
  t.regex(
    lines[1] ?? '',
    /^ssh -p 29418 review.example.org gerrit set-reviewers -a t@example.com [0-9a-f]{40}$/,
  );
  t.regex(
    await readFile(join(w.datadir, result.outputDir, 'review.log'), 'utf8'),
    /^\+ .*submit_review\.sh reviewed /,
  );
});
