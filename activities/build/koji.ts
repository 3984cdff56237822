/**
 * The koji build driver (dlrn-spec §6.8): `koji build` of the source RPM, or, with `use_rhpkg`,
 * rhpkg's import, commit and build in the package's distgit. Both download the task's RPMs and
 * logs into the hashed directory, and run the tools with DLRN's PATH=/usr/bin/ environment.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DlrnConfig } from '../../lib/config/index.ts';
import { LogFile, outputDirOf, type BuildJob } from '../../lib/domain/build.ts';
import { BuildFailedError } from '../../lib/domain/errors.ts';
import type { CommitCandidate } from '../../lib/domain/packages.ts';
import { withBuildEnv } from '../build-env.ts';
import { appendLog, KOJI_ENV, runLogged, which, type RunOutcome } from './process.ts';
import { failOn } from './srpm.ts';
import type { Workspace } from './workspace.ts';

type KojiOptions = Extract<DlrnConfig['build'], { name: 'koji' }>['options'];

/** `kinit` with the keytab, when `krb_principal` and `krb_keytab` are set. */
const kerberosLogin = async (o: KojiOptions, out: string): Promise<void> => {
  if (!o.krbPrincipal || !o.krbKeytab) return;
  const log = join(out, 'kerberos.log');
  const kinit = await runLogged('kinit', which('kinit'), ['-k', '-t', o.krbKeytab, o.krbPrincipal], {
    cwd: out,
    logFile: log,
    env: KOJI_ENV,
  });
  if (kinit.exitCode !== 0) failOn('kinit', kinit, log);
};

/** The last line `git log -1 --pretty=format:<format>` prints in `dir`. */
const gitHead = async (job: BuildJob, dir: string, format: string, log: string): Promise<string> => {
  const outcome = await runLogged('head', 'git', ['log', '-1', `--pretty=format:${format}`], {
    cwd: dir,
    logFile: log,
    env: withBuildEnv(job.buildEnv),
  });
  return outcome.output.trim().split('\n').at(-1) ?? '';
};

/**
 * `rhpkg import` of the source RPM into the distgit and `rhpkg commit` with DLRN's message. The
 * new distgit commit is the build's distro hash, or, for the downstream driver, the first half of
 * its extended hash (the second is the downstream source's head).
 */
const importIntoDistgit = async (
  config: DlrnConfig,
  job: BuildJob,
  distgit: string,
  srpmPath: string,
  log: string,
): Promise<CommitCandidate> => {
  if (config.pkginfo.name === 'downstream' && config.pkginfo.options.useUpstreamSpec)
    await runLogged('checkout', 'git', ['checkout', '--', '*'], {
      cwd: distgit,
      logFile: log,
      env: withBuildEnv(job.buildEnv),
    });
  const rhpkg = which('rhpkg');
  const imported = await runLogged('import', rhpkg, ['import', '--skip-diff', srpmPath], {
    cwd: distgit,
    logFile: log,
    env: KOJI_ENV,
  });
  if (imported.exitCode !== 0) failOn('rhpkg import', imported, log);
  const nvr = srpmPath.replace(/^.*\//, '').replace(/\.src\.rpm$/, '');
  const when = new Date(job.dtBuild * 1000).toISOString().replace('T', '-').replace(/:/g, '').slice(0, 17);
  const message = `DLRN build at ${when}\n\nSource SHA: ${job.commit.commitHash}\nDist SHA: ${job.commit.distroHash}\nNVR: ${nvr}\n`;
  const committed = await runLogged('commit', rhpkg, ['commit', '-p', '-m', message], {
    cwd: distgit,
    logFile: log,
    env: KOJI_ENV,
  });
  if (committed.exitCode !== 0) failOn('rhpkg commit', committed, log);
  const [sha = '', time = '0'] = (await gitHead(job, distgit, '%H %ct', log)).split(' ');
  if (config.pkginfo.name !== 'downstream') return { ...job.commit, distroHash: sha, dtDistro: Number(time) };
  const source = join(config.default.datadir, `${job.commit.projectName}_downstream`);
  await runLogged('pull', 'git', ['pull'], { cwd: source, logFile: log, env: withBuildEnv(job.buildEnv) });
  const sourceHead = await gitHead(job, source, '%H', log);
  return { ...job.commit, extendedHash: `${sha}_${sourceHead}`, dtExtended: Number(time) };
};

/** `rhpkg build`, killed after `rhpkg_timeout` with its koji task cancelled; the task id. */
const rhpkgBuild = async (
  o: KojiOptions,
  job: BuildJob,
  distgit: string,
  dir: string,
  srpm: string,
): Promise<{ task: string; built: RunOutcome; buildLog: string }> => {
  const buildLog = join(dir, 'rhpkgbuild.log');
  const args = ['build', '--skip-nvr-check', ...(o.scratchBuild ? ['--scratch'] : [])];
  const built = await runLogged('rpm', which('rhpkg'), args, {
    cwd: distgit,
    logFile: buildLog,
    env: KOJI_ENV,
    timeoutSeconds: o.rhpkgTimeout,
  });
  if (built.timedOut) {
    const tasks = await runLogged('tasks', which(o.kojiExe), ['list-tasks', '--mine', '--quiet'], {
      cwd: dir,
      logFile: buildLog,
      env: KOJI_ENV,
    });
    const row = tasks.output.split('\n').find((l) => l.includes(o.buildTarget ?? '') && l.includes(srpm));
    const id = row?.trim().split(/\s+/)[0];
    if (id)
      await runLogged('cancel', which(o.kojiExe), ['cancel', '--force', id], {
        cwd: dir,
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
  return { task, built, buildLog };
};

/**
 * koji's `use_rhpkg` mode: the SRPM imported and committed into the distgit (new hashes, so the
 * hashed directory moves to their path, as DLRN does), then `rhpkg build`, then the task's RPMs
 * and logs downloaded. Returns the commit as built.
 */
export const rhpkgDriver = async (
  config: DlrnConfig,
  job: BuildJob,
  ws: Workspace,
  srpm: string,
): Promise<CommitCandidate> => {
  if (config.build.name !== 'koji') return job.commit;
  const o = config.build.options;
  await kerberosLogin(o, ws.outputDir);
  const distgit = join(config.default.datadir, `${job.commit.projectName}_distro`);
  const importLog = join(ws.outputDir, 'rhpkgimport.log');
  const commit = await importIntoDistgit(config, job, distgit, join(ws.outputDir, srpm), importLog);
  const moved = join(config.default.datadir, outputDirOf({ commit }));
  await mkdir(dirname(moved), { recursive: true });
  await rm(moved, { recursive: true, force: true });
  await rename(ws.outputDir, moved);
  const rhpkg = await rhpkgBuild(o, job, distgit, moved, srpm);
  const downloadLog = join(moved, 'build_download.log');
  const download = await runLogged('download', which(o.kojiExe), ['download-task', '--logs', rhpkg.task], {
    cwd: moved,
    logFile: downloadLog,
    env: KOJI_ENV,
  });
  await appendLog(rhpkg.buildLog, join(moved, LogFile.rpmbuild));
  if (rhpkg.built.exitCode !== 0) failOn('rhpkg build', rhpkg.built, rhpkg.buildLog);
  if (download.exitCode !== 0) failOn('koji download-task', download, downloadLog);
  await writeFile(join(moved, 'installed'), '');
  return commit;
};

export const kojiDriver = async (
  config: DlrnConfig,
  job: BuildJob,
  ws: Workspace,
  srpm: string,
): Promise<void> => {
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
