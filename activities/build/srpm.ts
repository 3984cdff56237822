/**
 * buildSrpm: what DLRN's build_srpm.sh does (dlrn-spec §4.6), on the build's workspace:
 * detect the upstream version, compute the release, make the source tarball, edit the spec,
 * and make the source RPM in the hashed directory. Output goes to `rpmbuild.log` there.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { LogFile, type BuildJob } from '../../lib/domain/build.ts';
import { BuildFailedError, TransientBuildError } from '../../lib/domain/errors.ts';
import { transientLine } from '../../lib/domain/transient.ts';
import {
  bumpLastComponent,
  editSpec,
  releaseDate,
  releaseString,
  sourceWithRelease,
  splitVersion,
  versionOfTag,
} from '../../lib/domain/versions.ts';
import { withBuildEnv } from '../build-env.ts';
import type { ActivityDeps } from '../deps.ts';
import { runLogged, type RunOutcome } from './process.ts';
import { workspaceOf, type Workspace } from './workspace.ts';

const run = promisify(execFile);

export interface SrpmResult {
  /** File name of the source RPM in the hashed directory. */
  srpm: string;
  /** The detected upstream version (before the RPM version split). */
  upstreamVersion: string;
  version: string;
  release: string;
}

/** Tags DLRN deletes before describing; excluding them leaves the clone's tags alone. */
const DESCRIBE_EXCLUDES = [
  '--exclude',
  'private-*',
  '--exclude',
  '*-em',
  '--exclude',
  '*-eol',
  '--exclude',
  '*-eom',
];

const git = async (dir: string, args: string[]): Promise<string> => {
  try {
    return (await run('git', args, { cwd: dir })).stdout.trim();
  } catch {
    return '';
  }
};

/** Throws the failure a build step's outcome means: transient (retried) or not. */
export const failOn = (what: string, outcome: RunOutcome, log: string): never => {
  const transient = transientLine(outcome.output);
  const tail = outcome.output.trim().split('\n').slice(-15).join('\n');
  if (transient)
    throw new TransientBuildError(`${what} failed with a transient error: ${transient.trim()} (see ${log})`);
  throw new BuildFailedError(`${what} failed with exit code ${outcome.exitCode}:\n${tail}`);
};

interface Detected {
  kind: 'python' | 'gem' | 'other';
  upstreamVersion: string;
  shortHash: string;
}

/** A string field of the source's metadata.json (puppet modules), or ''. */
const metadataField = async (src: string, field: 'name' | 'version'): Promise<string> => {
  const value = (JSON.parse(await readFile(join(src, 'metadata.json'), 'utf8')) as Record<string, unknown>)[
    field
  ];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
};

const specVersion = async (distgit: string): Promise<string> => {
  for (const file of (await readdir(distgit)).filter((f) => f.endsWith('.spec'))) {
    const version = /^Version:\s*(\S+)/m.exec(await readFile(join(distgit, file), 'utf8'))?.[1];
    if (version) return version;
  }
  return '';
};

const detectVersion = async (
  job: BuildJob,
  ws: Workspace,
  log: string,
  keepVersion: boolean,
): Promise<Detected> => {
  const src = ws.sourceDir ?? ws.distgitDir;
  const shortHash = await git(src, ['log', '--abbrev=7', '-n1', '--format=format:%h']);
  const preset = keepVersion ? await specVersion(ws.distgitDir) : '';
  if (existsSync(join(src, 'setup.py')) && !existsSync(join(src, 'metadata.json'))) {
    if (preset) return { kind: 'python', upstreamVersion: preset, shortHash };
    for (const entry of await readdir(src))
      if (entry.endsWith('.egg-info')) await rm(join(src, entry), { recursive: true });
    const outcome = await runLogged('version', 'python3', ['setup.py', '--version'], {
      cwd: src,
      logFile: log,
      env: process.env as Record<string, string>,
    });
    if (outcome.exitCode !== 0) failOn('python3 setup.py --version', outcome, log);
    return { kind: 'python', upstreamVersion: outcome.output.trim().split('\n').at(-1) ?? '', shortHash };
  }
  const gemspec = (await readdir(src)).find((f) => f.endsWith('.gemspec'));
  if (gemspec) {
    const declared = /\.version\s*=\s*['"]([^'"]+)['"]/.exec(await readFile(join(src, gemspec), 'utf8'))?.[1];
    return { kind: 'gem', upstreamVersion: preset || declared || '0.0.1', shortHash };
  }
  let version = preset;
  if (!version && existsSync(join(src, 'metadata.json'))) {
    version = await metadataField(src, 'version');
  } else if (!version && existsSync(join(src, 'Modulefile'))) {
    version = /version\s*'(.*)'/.exec(await readFile(join(src, 'Modulefile'), 'utf8'))?.[1] ?? '';
  }
  const latestTag = versionOfTag(await git(src, ['describe', '--abbrev=0', '--tags', ...DESCRIBE_EXCLUDES]));
  if (!version) version = latestTag;
  if (!version && job.pkg.masterDistgit.includes('openstack/rpm-packaging'))
    version = await specVersion(ws.distgitDir);
  if (version) {
    // Commits after the tag: the next .Z release, as DLRN does.
    const described = versionOfTag(await git(src, ['describe', '--tags', ...DESCRIBE_EXCLUDES]));
    if (described !== latestTag && version === latestTag && !version.includes('-rc'))
      version = bumpLastComponent(version);
  }
  return { kind: 'other', upstreamVersion: version || '0.0.1', shortHash };
};

/** The tarball's top directory name prefix, as build_srpm.sh picks it. */
const tarName = async (job: BuildJob, src: string): Promise<string> => {
  const remote = basename(
    (await git(src, ['remote', 'get-url', 'origin'])) || job.commit.projectName,
  ).replace(/\.git$/, '');
  if (existsSync(join(src, 'metadata.json'))) {
    const name = await metadataField(src, 'name');
    return name.startsWith('openstack-') ? name : remote;
  }
  if (existsSync(join(src, 'Modulefile'))) return remote;
  if (existsSync(join(src, 'Kconfig')) && existsSync(join(src, 'Kbuild'))) return 'linux';
  return job.commit.projectName;
};

/** Where a build step's tools write (rpmbuild.log) and the environment they run in. */
interface StepIo {
  log: string;
  env: Record<string, string>;
}

/** The rpmbuild tree of one build: `top` with its SOURCES, SPECS and dist folders. */
interface SrpmTree {
  top: string;
  sources: string;
  specs: string;
  dist: string;
}

/** The upstream tarball in `tree.dist`: sdist for Python, else `git archive` of the commit. */
const makeTarball = async (
  job: BuildJob,
  src: string,
  tree: SrpmTree,
  detected: Detected,
  version: string,
  io: StepIo,
): Promise<string> => {
  if (detected.kind === 'python') {
    const outcome = await runLogged('sdist', 'python3', ['setup.py', 'sdist', '--dist-dir', tree.dist], {
      cwd: src,
      logFile: io.log,
      env: io.env,
    });
    if (outcome.exitCode !== 0) failOn('python3 setup.py sdist', outcome, io.log);
    return join(tree.dist, (await readdir(tree.dist)).find((f) => f.endsWith('.tar.gz')) ?? '');
  }
  // A tar of the tree at the commit (git archive: no .git), the top directory renamed.
  const tarball = join(tree.dist, `${version}.tar.gz`);
  const prefix = `${await tarName(job, src)}-${detected.upstreamVersion}/`;
  const outcome = await runLogged(
    'tarball',
    'git',
    ['archive', '--format=tar.gz', `--prefix=${prefix}`, '-o', tarball, 'HEAD'],
    { cwd: src, logFile: io.log, env: io.env },
  );
  if (outcome.exitCode !== 0) failOn('git archive', outcome, io.log);
  return tarball;
};

/**
 * The sources and specs of an upstream build: the tarball under its release name, the distgit's
 * files beside it, and each spec edited for the version, release and tarball (DLRN's sed).
 */
const stageUpstream = async (
  deps: ActivityDeps,
  job: BuildJob,
  ws: Workspace,
  tree: SrpmTree,
  io: StepIo,
): Promise<Pick<SrpmResult, 'upstreamVersion' | 'version' | 'release'>> => {
  const { config } = deps;
  const src = ws.sourceDir ?? ws.distgitDir;
  const detected = await detectVersion(job, ws, io.log, io.env.DLRN_KEEP_VERSION === '1');
  const { upstreamVersion } = detected;
  const split = splitVersion(upstreamVersion);
  if (split.warning) await appendFile(io.log, `WARNING: ${split.warning}\n`);
  const { version } = split;
  const release = releaseString(
    config.default.releaseNumbering,
    config.default.releaseMinor,
    releaseDate(job.dtBuild),
    detected.shortHash,
  );
  const tarball = await makeTarball(job, src, tree, detected, version, io);
  const keepTarball =
    config.pkginfo.name === 'gitrepo' &&
    config.pkginfo.options.keepTarball &&
    (job.commit.commitBranch === config.default.source || job.commit.commitBranch === 'master');
  const withRel = sourceWithRelease(basename(tarball), release);
  await rename(tarball, join(tree.sources, withRel));
  for (const entry of await readdir(ws.distgitDir, { withFileTypes: true })) {
    if (entry.isFile()) await copyFile(join(ws.distgitDir, entry.name), join(tree.sources, entry.name));
  }
  for (const spec of (await readdir(ws.distgitDir)).filter((f) => f.endsWith('.spec'))) {
    const text = await readFile(join(ws.distgitDir, spec), 'utf8');
    const edits = { upstreamVersion, version, release, sourceWithRel: withRel, keepTarball };
    await writeFile(
      join(tree.specs, spec),
      editSpec(text, { ...edits, keepChangelog: config.default.keepChangelog }),
    );
  }
  return { upstreamVersion, version, release };
};

/** The local driver builds the spec as it is, with the sources in the distgit. */
const stageAsIs = async (ws: Workspace, tree: SrpmTree): Promise<void> => {
  for (const entry of await readdir(ws.distgitDir, { withFileTypes: true })) {
    if (entry.isFile())
      await copyFile(
        join(ws.distgitDir, entry.name),
        join(entry.name.endsWith('.spec') ? tree.specs : tree.sources, entry.name),
      );
  }
};

/** `rpmbuild -bs` of the staged spec into the hashed directory; the source RPM's file name. */
const rpmbuildSource = async (job: BuildJob, ws: Workspace, tree: SrpmTree, io: StepIo): Promise<string> => {
  const spec = (await readdir(tree.specs)).find((f) => f.endsWith('.spec'));
  if (!spec) throw new BuildFailedError(`no .spec file in the distgit of ${job.commit.projectName}`);
  await appendFile(io.log, `${await readFile(join(tree.specs, spec), 'utf8')}\n`);
  const defines = { _topdir: tree.top, _sourcedir: tree.sources, _srcrpmdir: ws.outputDir };
  const outcome = await runLogged(
    'srpm',
    'rpmbuild',
    [
      '-bs',
      ...Object.entries(defines).flatMap(([k, v]) => ['--define', `${k} ${v}`]),
      join(tree.specs, spec),
    ],
    { cwd: tree.top, logFile: io.log, env: io.env, verbose: job.verbose },
  );
  if (outcome.exitCode !== 0) failOn('rpmbuild -bs', outcome, io.log);
  const srpm = (await readdir(ws.outputDir)).find((f) => f.endsWith('.src.rpm'));
  if (!srpm) throw new BuildFailedError(`rpmbuild -bs made no source RPM for ${job.commit.projectName}`);
  return srpm;
};

export const buildSrpm = async (deps: ActivityDeps, job: BuildJob): Promise<SrpmResult> => {
  const ws = workspaceOf(deps, job);
  const io = { log: join(ws.outputDir, LogFile.rpmbuild), env: withBuildEnv(job.buildEnv) };
  const top = join(ws.root, 'top');
  const tree = { top, sources: join(top, 'SOURCES'), specs: join(top, 'SPECS'), dist: join(top, 'dist') };
  for (const dir of [tree.sources, tree.specs, tree.dist]) await mkdir(dir, { recursive: true });
  const asIs = deps.config.pkginfo.name === 'local';
  if (!asIs && ws.sourceDir) {
    const versions = await stageUpstream(deps, job, ws, tree, io);
    return { srpm: await rpmbuildSource(job, ws, tree, io), ...versions };
  }
  await stageAsIs(ws, tree);
  const srpm = await rpmbuildSource(job, ws, tree, io);
  if (!asIs) return { srpm, upstreamVersion: '', version: '', release: '' };
  // The spec was built as it is: its version and release are the source RPM's.
  const { stdout } = await run('rpm', ['-qp', '--qf', '%{version} %{release}', join(ws.outputDir, srpm)]);
  const [version = '', release = ''] = stdout.trim().split(' ');
  return { srpm, upstreamVersion: version, version, release };
};
