/**
 * buildRpm: the binary build drivers, selected by `build_driver` (dlrn-spec §6.7-§6.9).
 * `rpmbuild` runs here; `mock`, `koji` and `copr` run their command lines as DLRN does. The
 * tools are looked up on the worker's PATH (DLRN hard-codes /usr/bin/mock and runs koji and
 * copr with PATH=/usr/bin/ only); koji and copr still get DLRN's PATH=/usr/bin/ environment.
 */
import { existsSync } from 'node:fs';
import { appendFile, copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import type { DlrnConfig } from '../../lib/config/index.ts';
import { LogFile, outputDirOf, type BuildJob } from '../../lib/domain/build.ts';
import { BuildFailedError, ToolError } from '../../lib/domain/errors.ts';
import type { CommitCandidate } from '../../lib/domain/packages.ts';
import { withBuildEnv } from '../build-env.ts';
import type { ActivityDeps } from '../deps.ts';
import { runLogged } from './process.ts';
import { failOn } from './srpm.ts';
import { workspaceOf, type Workspace } from './workspace.ts';

export interface RpmResult {
  /** Built files as DLRN stores them: `repos/<commit dir>/<file>.rpm`, directory order. */
  artifacts: string[];
  /** The commit as built: koji's rhpkg mode makes a new distgit commit, hence new hashes. */
  commit: CommitCandidate;
}

/** The absolute path of `tool` on the worker's PATH, or a ToolError naming it. */
const which = (tool: string): string => {
  if (tool.includes('/')) return tool;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, tool))) return join(dir, tool);
  }
  throw new ToolError(`${tool} is not installed on this worker (not on PATH)`);
};

const buildEnv = (job: BuildJob): Record<string, string> => withBuildEnv(job.buildEnv);

/** DLRN runs koji and copr with nothing but this in the environment. */
const KOJI_ENV = { PATH: '/usr/bin/' };

const appendLog = async (from: string, to: string) => {
  if (existsSync(from)) await appendFile(to, await readFile(from));
};

const rpmbuildDriver = async (job: BuildJob, ws: Workspace, srpm: string): Promise<void> => {
  const log = join(ws.outputDir, LogFile.build);
  const top = join(ws.root, 'rebuild');
  // Debian's RPM database is empty, so BuildRequires cannot be checked here: mock resolves
  // them on an RPM distribution. Say so in the log.
  await appendFile(
    log,
    'rpmbuild driver: building with --nodeps; BuildRequires are not checked on this host\n',
  );
  const args = ['--rebuild', '--nodeps', '--define', `_topdir ${top}`];
  if (job.bootstrap) args.push('--define', 'repo_bootstrap 1');
  const outcome = await runLogged('rpm', 'rpmbuild', [...args, join(ws.outputDir, srpm)], {
    cwd: ws.root,
    logFile: log,
    env: buildEnv(job),
    verbose: job.verbose,
  });
  await appendLog(log, join(ws.outputDir, LogFile.rpmbuild));
  if (outcome.exitCode !== 0) failOn('rpmbuild --rebuild', outcome, log);
  const rpms = join(top, 'RPMS');
  for (const arch of existsSync(rpms) ? await readdir(rpms) : []) {
    for (const file of await readdir(join(rpms, arch))) {
      if (file.endsWith('.rpm')) await rename(join(rpms, arch, file), join(ws.outputDir, file));
    }
  }
  // Nothing is installed: there is no RPM system to install into. DLRN requires the marker.
  await writeFile(join(ws.outputDir, 'installed'), '');
};

const mockDriver = async (config: DlrnConfig, job: BuildJob, ws: Workspace, srpm: string): Promise<void> => {
  if (config.build.name !== 'mock') return;
  const log = join(ws.outputDir, LogFile.mock);
  const mockConfig = await writeMockConfig(config, job);
  const args = ['-v', '-r', mockConfig, '--resultdir', ws.outputDir];
  if (job.bootstrap) args.push('-D repo_bootstrap 1');
  args.push('--rebuild', join(ws.outputDir, srpm));
  if (config.build.options.installAfterBuild) args.push('--postinstall');
  const outcome = await runLogged('rpm', which('mock'), args, {
    cwd: ws.root,
    logFile: log,
    env: buildEnv(job),
    verbose: job.verbose,
  });
  await appendLog(log, join(ws.outputDir, LogFile.rpmbuild));
  if (outcome.exitCode !== 0) failOn('mock --rebuild', outcome, log);
  if (
    config.build.options.installAfterBuild &&
    /WARNING: Failed install built packages/.test(outcome.output)
  ) {
    throw new BuildFailedError(
      `mock could not install the built packages of ${job.commit.projectName} (see ${log})`,
    );
  }
  await writeFile(join(ws.outputDir, 'installed'), '');
};

/**
 * `<datadir>/dlrn-1.cfg` from `<configdir>/<target>.cfg`: the root made unique, the current
 * repository and the dependencies repository (deps_url, default `<baseurl>/delorean-deps.repo`)
 * added inside the closing `"""` of the dnf.conf block, as DLRN does.
 */
const writeMockConfig = async (config: DlrnConfig, job: BuildJob): Promise<string> => {
  const d = config.default;
  const template = join(d.configdir, `${d.target ?? 'centos'}.cfg`);
  if (!existsSync(template))
    throw new ToolError(`mock configuration ${template} does not exist (configdir and target)`);
  const lines = (await readFile(template, 'utf8')).replace(/\n+$/, '').split('\n');
  const closing = lines.pop() ?? '"""';
  const extra: string[] = [];
  const current = join(d.datadir, 'repos', 'current', `${d.reponame ?? 'delorean'}.repo`);
  if (existsSync(current)) extra.push(await readFile(current, 'utf8'));
  const depsUrl = d.depsUrl || (d.baseurl ? `${d.baseurl.replace(/\/$/, '')}/delorean-deps.repo` : '');
  if (!depsUrl) throw new BuildFailedError('No baseurl defined');
  try {
    extra.push(
      depsUrl.startsWith('file://')
        ? await readFile(new URL(depsUrl), 'utf8')
        : await (await fetch(depsUrl, { signal: AbortSignal.timeout(10_000) })).text(),
    );
  } catch {
    // DLRN only warns when the dependencies repository cannot be fetched.
  }
  if (job.usePublic && d.baseurl) {
    extra.push(await (await fetch(`${d.baseurl.replace(/\/$/, '')}/current/delorean.repo`)).text());
  }
  const text = [
    ...lines.map((l) => l.replace(/(config_opts\['root'\]\s*=\s*'[^']*)'/, "$1-1'")),
    ...extra,
    closing,
  ].join('\n');
  const file = join(d.datadir, 'dlrn-1.cfg');
  const previous = existsSync(file) ? await readFile(file, 'utf8') : undefined;
  // Rewritten only when it changes, which keeps mock's cache.
  if (previous !== `${text}\n`) await writeFile(file, `${text}\n`);
  return file;
};

/**
 * koji's `use_rhpkg` mode: the SRPM is imported into the package's distgit with rhpkg and
 * committed, which makes a new distgit commit: it becomes the build's distro hash (or, for the
 * downstream driver, the first half of its extended hash), and the hashed directory moves to the
 * path of the new hashes. Then `rhpkg build` runs with `rhpkg_timeout`; on timeout the task is
 * found and cancelled.
 */
const rhpkgDriver = async (
  config: DlrnConfig,
  job: BuildJob,
  ws: Workspace,
  srpm: string,
): Promise<CommitCandidate> => {
  if (config.build.name !== 'koji') return job.commit;
  const o = config.build.options;
  const out = ws.outputDir;
  if (o.krbPrincipal && o.krbKeytab) {
    const kinit = await runLogged('kinit', which('kinit'), ['-k', '-t', o.krbKeytab, o.krbPrincipal], {
      cwd: out,
      logFile: join(out, 'kerberos.log'),
      env: KOJI_ENV,
    });
    if (kinit.exitCode !== 0) failOn('kinit', kinit, join(out, 'kerberos.log'));
  }
  const rhpkg = which('rhpkg');
  const distgit = join(config.default.datadir, `${job.commit.projectName}_distro`);
  const importLog = join(out, 'rhpkgimport.log');
  const downstreamSpec = config.pkginfo.name === 'downstream' && config.pkginfo.options.useUpstreamSpec;
  if (downstreamSpec)
    await runLogged('checkout', 'git', ['checkout', '--', '*'], {
      cwd: distgit,
      logFile: importLog,
      env: buildEnv(job),
    });
  const imported = await runLogged('import', rhpkg, ['import', '--skip-diff', join(out, srpm)], {
    cwd: distgit,
    logFile: importLog,
    env: KOJI_ENV,
  });
  if (imported.exitCode !== 0) failOn('rhpkg import', imported, importLog);
  const nvr = srpm.replace(/\.src\.rpm$/, '');
  const when = new Date(job.dtBuild * 1000).toISOString().replace('T', '-').replace(/:/g, '').slice(0, 17);
  const message = `DLRN build at ${when}\n\nSource SHA: ${job.commit.commitHash}\nDist SHA: ${job.commit.distroHash}\nNVR: ${nvr}\n`;
  const committed = await runLogged('commit', rhpkg, ['commit', '-p', '-m', message], {
    cwd: distgit,
    logFile: importLog,
    env: KOJI_ENV,
  });
  if (committed.exitCode !== 0) failOn('rhpkg commit', committed, importLog);
  const head =
    (
      await runLogged('head', 'git', ['log', '-1', '--pretty=format:%H %ct'], {
        cwd: distgit,
        logFile: importLog,
        env: buildEnv(job),
      })
    ).output
      .trim()
      .split('\n')
      .at(-1) ?? '';
  const [sha = '', time = '0'] = head.split(' ');
  let commit: CommitCandidate = { ...job.commit, distroHash: sha, dtDistro: Number(time) };
  if (config.pkginfo.name === 'downstream') {
    const source = join(config.default.datadir, `${job.commit.projectName}_downstream`);
    await runLogged('pull', 'git', ['pull'], { cwd: source, logFile: importLog, env: buildEnv(job) });
    const sourceHead = (
      await runLogged('head', 'git', ['log', '-1', '--pretty=format:%H'], {
        cwd: source,
        logFile: importLog,
        env: buildEnv(job),
      })
    ).output
      .trim()
      .split('\n')
      .at(-1);
    commit = { ...job.commit, extendedHash: `${sha}_${sourceHead ?? ''}`, dtExtended: Number(time) };
  }
  const moved = join(config.default.datadir, outputDirOf({ commit }));
  await mkdir(dirname(moved), { recursive: true });
  await rm(moved, { recursive: true, force: true });
  await rename(out, moved);
  const buildLog = join(moved, 'rhpkgbuild.log');
  const args = ['build', '--skip-nvr-check'];
  if (o.scratchBuild) args.push('--scratch');
  const built = await runLogged('rpm', rhpkg, args, {
    cwd: distgit,
    logFile: buildLog,
    env: KOJI_ENV,
    timeoutSeconds: o.rhpkgTimeout,
  });
  if (built.timedOut) {
    const tasks = await runLogged('tasks', which(o.kojiExe), ['list-tasks', '--mine', '--quiet'], {
      cwd: moved,
      logFile: buildLog,
      env: KOJI_ENV,
    });
    const row = tasks.output.split('\n').find((l) => l.includes(o.buildTarget ?? '') && l.includes(srpm));
    const id = row?.trim().split(/\s+/)[0];
    if (id)
      await runLogged('cancel', which(o.kojiExe), ['cancel', '--force', id], {
        cwd: moved,
        logFile: buildLog,
        env: KOJI_ENV,
      });
    throw new BuildFailedError('Brew building timeout excedeed.');
  }
  const task = /Created task: (\d+)/.exec(built.output)?.[1];
  if (!task) {
    if (built.exitCode !== 0) failOn('rhpkg build', built, buildLog);
    throw new BuildFailedError(`rhpkg did not create a task for ${job.commit.projectName} (see ${buildLog})`);
  }
  const download = await runLogged('download', which(o.kojiExe), ['download-task', '--logs', task], {
    cwd: moved,
    logFile: join(moved, 'build_download.log'),
    env: KOJI_ENV,
  });
  await appendLog(buildLog, join(moved, LogFile.rpmbuild));
  if (built.exitCode !== 0) failOn('rhpkg build', built, buildLog);
  if (download.exitCode !== 0) failOn('koji download-task', download, join(moved, 'build_download.log'));
  await writeFile(join(moved, 'installed'), '');
  return commit;
};

const kojiDriver = async (config: DlrnConfig, job: BuildJob, ws: Workspace, srpm: string): Promise<void> => {
  if (config.build.name !== 'koji') return;
  const o = config.build.options;
  const exe = which(o.kojiExe);
  const auth = o.krbPrincipal && o.krbKeytab ? ['--principal', o.krbPrincipal, '--keytab', o.krbKeytab] : [];
  const log = join(ws.outputDir, 'kojibuild.log');
  const args = [...auth, 'build', '--wait', o.buildTarget ?? '', join(ws.outputDir, srpm)];
  if (o.scratchBuild) args.push('--scratch');
  const build = await runLogged('rpm', exe, args, { cwd: ws.outputDir, logFile: log, env: KOJI_ENV });
  const task = /^Created task: (\d+)$/m.exec(build.output)?.[1];
  if (!task)
    throw new BuildFailedError(`koji did not create a task for ${job.commit.projectName} (see ${log})`);
  const nvr = srpm.replace(/\.src\.rpm$/, '');
  for (const tag of o.additionalKojiTags) {
    await runLogged('tag', exe, [...auth, 'tag-build', tag, nvr], {
      cwd: ws.outputDir,
      logFile: join(ws.outputDir, 'additional_tags.log'),
      env: KOJI_ENV,
    });
  }
  const download = await runLogged('download', exe, [...auth, 'download-task', '--logs', task], {
    cwd: ws.outputDir,
    logFile: join(ws.outputDir, 'build_download.log'),
    env: KOJI_ENV,
  });
  await appendLog(log, join(ws.outputDir, LogFile.rpmbuild));
  // As DLRN: a failed build is reported after its logs were downloaded.
  if (build.exitCode !== 0) failOn('koji build', build, log);
  if (download.exitCode !== 0)
    failOn('koji download-task', download, join(ws.outputDir, 'build_download.log'));
  await writeFile(join(ws.outputDir, 'installed'), '');
};

const coprDriver = async (config: DlrnConfig, job: BuildJob, ws: Workspace, srpm: string): Promise<void> => {
  if (config.build.name !== 'copr') return;
  const exe = which('copr');
  const log = join(ws.outputDir, 'coprbuild.log');
  const build = await runLogged(
    'rpm',
    exe,
    ['build', config.build.options.coprid ?? '', join(ws.outputDir, srpm)],
    {
      cwd: ws.outputDir,
      logFile: log,
      env: KOJI_ENV,
    },
  );
  const id = /^Created builds: (\d+)$/m.exec(build.output)?.[1];
  if (!id)
    throw new BuildFailedError(`copr did not create a build for ${job.commit.projectName} (see ${log})`);
  const target = join(ws.outputDir, id);
  const download = await runLogged('download', exe, ['download-build', '-d', target, id], {
    cwd: ws.outputDir,
    logFile: join(ws.outputDir, 'coprdownload.log'),
    env: KOJI_ENV,
  });
  const [chroot] = existsSync(target) ? await readdir(target) : [];
  if (chroot) {
    for (const file of await readdir(join(target, chroot))) {
      if (file.endsWith('.rpm') || file.endsWith('.log.gz'))
        await copyFile(join(target, chroot, file), join(ws.outputDir, file));
    }
  }
  await rm(target, { recursive: true, force: true });
  await appendLog(log, join(ws.outputDir, LogFile.rpmbuild));
  if (build.exitCode !== 0) failOn('copr build', build, log);
  if (download.exitCode !== 0)
    failOn('copr download-build', download, join(ws.outputDir, 'coprdownload.log'));
  await writeFile(join(ws.outputDir, 'installed'), '');
};

/** Builds the binary RPMs from the source RPM with the configured driver. */
export const buildRpm = async (
  deps: ActivityDeps,
  input: { job: BuildJob; srpm: string },
): Promise<RpmResult> => {
  const { config } = deps;
  const { job, srpm } = input;
  const ws = workspaceOf(deps, job);
  await mkdir(ws.root, { recursive: true });
  await rm(join(ws.outputDir, 'installed'), { force: true });
  let commit = job.commit;
  switch (config.build.name) {
    case 'rpmbuild':
      await rpmbuildDriver(job, ws, srpm);
      break;
    case 'mock':
      await mockDriver(config, job, ws, srpm);
      break;
    case 'koji':
      if (config.build.options.useRhpkg) commit = await rhpkgDriver(config, job, ws, srpm);
      else await kojiDriver(config, job, ws, srpm);
      break;
    case 'copr':
      await coprDriver(config, job, ws, srpm);
      break;
  }
  // The hashed directory, recomputed: rhpkg mode may have moved it (as DLRN does).
  const outputDir = join(config.default.datadir, outputDirOf({ commit }));
  // The source RPM first, as in DLRN's rows: tools take the first artifact for the SRPM.
  const files = (await readdir(outputDir))
    .filter((f) => f.endsWith('.rpm'))
    .sort()
    .sort((a, b) => Number(b.endsWith('.src.rpm')) - Number(a.endsWith('.src.rpm')));
  if (files.length === 0) throw new BuildFailedError(`No rpms built for ${commit.projectName}`);
  if (!existsSync(join(outputDir, 'installed')))
    throw new BuildFailedError(`Error installing ${commit.projectName}`);
  await writeFile(
    join(outputDir, 'installed'),
    `${commit.projectName} ${commit.commitHash} ${commit.distroHash}`,
  );
  return { artifacts: files.map((f) => `${outputDirOf({ commit })}/${f}`), commit };
};
