/**
 * buildRpm: the binary build drivers, selected by `build_driver` (dlrn-spec §6.7-§6.9).
 * `rpmbuild` runs here; `mock`, `koji` and `copr` run their command lines as DLRN does. The
 * tools are looked up on the worker's PATH (DLRN hard-codes /usr/bin/mock and runs koji and
 * copr with PATH=/usr/bin/ only); koji and copr still get DLRN's PATH=/usr/bin/ environment.
 */
import { existsSync } from 'node:fs';
import { appendFile, copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DlrnConfig } from '../../lib/config/index.ts';
import { LogFile, outputDirOf, type BuildJob } from '../../lib/domain/build.ts';
import { BuildFailedError, ToolError } from '../../lib/domain/errors.ts';
import type { CommitCandidate } from '../../lib/domain/packages.ts';
import { withBuildEnv } from '../build-env.ts';
import type { ActivityDeps } from '../deps.ts';
import { appendLog, KOJI_ENV, runLogged, which } from './process.ts';
import { kojiDriver, rhpkgDriver } from './koji.ts';
import { failOn } from './srpm.ts';
import { workspaceOf, type Workspace } from './workspace.ts';

export interface RpmResult {
  /** Built files as DLRN stores them: `repos/<commit dir>/<file>.rpm`, directory order. */
  artifacts: string[];
  /** The commit as built: koji's rhpkg mode makes a new distgit commit, hence new hashes. */
  commit: CommitCandidate;
}

const buildEnv = (job: BuildJob): Record<string, string> => withBuildEnv(job.buildEnv);

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
