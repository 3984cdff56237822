/**
 * postBuild: after a successful build, the commit's hashed directory becomes a yum repository
 * with the newest successful build of every package (dlrn-spec §4.8, §4.7): links to the other
 * packages' RPMs, versions.csv, createrepo_c metadata, the .repo file; then `current` (and
 * `consistent` when no package is failing) move to it atomically and DLRN's `consistent` vote is
 * recorded.
 *
 * Post-build is serialized, on one machine or many: it runs under the lock on
 * `<datadir>/remote.lck` that DLRN takes for the same purpose (a lock directory, which works on a
 * shared datadir).
 *
 * Its cost does not grow with the whole repository: the newest build of every package comes
 * from two grouped database queries (not a tree scan), and createrepo_c reuses the metadata of the
 * previous `current` repository for every package that did not change (`--update-md-path`).
 */
import { execFile } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { Op, QueryTypes } from 'sequelize';
import { outputDirOf, type BuildJob, type PublishedPackage } from '../../lib/domain/build.ts';

export type { PublishedPackage } from '../../lib/domain/build.ts';
import { ToolError } from '../../lib/domain/errors.ts';
import { knownComponents, type CommitAttributes } from '../../lib/db/index.ts';
import type { ActivityDeps } from '../deps.ts';
import { beat } from '../heartbeat.ts';
import { readRunManifest } from '../run-manifest.ts';
import { aggregateRepoFiles } from '../../lib/repo/aggregate.ts';
import { switchLink, VERSIONS_HEADER } from '../../lib/repo/links.ts';
import { withLockDir } from '../../lib/lock.ts';

const run = promisify(execFile);

export interface PostBuildInput {
  job: BuildJob;
  /** The commits row of this build. */
  commitId: number;
  /** All packages of the run in the driver's order; all packages in the database when absent. */
  packages?: PublishedPackage[];
  /** The run's manifest (activities/run-manifest.ts), whose packages stand for `packages`. */
  manifest?: string;
  /** `--no-repo`: only versions.csv; no links, metadata or .repo file. */
  noRepo: boolean;
  /** `--dev`: no `consistent` vote. */
  dev: boolean;
  /** A remote import: `current` moves, `consistent` never does and gets no vote (as DLRN). */
  remoteImport?: boolean;
}

export interface PostBuildResult {
  /** Packages whose newest build is not SUCCESS, or that never built. */
  failures: number;
  consistent: boolean;
  /** Links made to other packages' files. */
  linked: number;
  /** Milliseconds spent waiting for the post-build lock, and inside it. */
  waitedMs: number;
  tookMs: number;
  /** Component mode: the md5 of the aggregated current repository. */
  aggregateHash?: string;
  /** When the locked section began and ended (epoch ms): post-builds never overlap. */
  startedAt: number;
  endedAt: number;
}

/** Python's str(): None for null. */
const py = (value: string | number | null | undefined): string =>
  value === null || value === undefined ? 'None' : String(value);

const nvrOf = (artifacts: string | null): string => {
  const srpm = (artifacts ?? '').split(',').find((a) => a.endsWith('.src.rpm'));
  return srpm ? basename(srpm).replace(/\.src\.rpm$/, '') : '';
};

type Row = Pick<
  CommitAttributes,
  | 'id'
  | 'projectName'
  | 'commitHash'
  | 'distroHash'
  | 'extendedHash'
  | 'status'
  | 'dtBuild'
  | 'artifacts'
  | 'component'
>;

/** The newest row of every package, SUCCESS only or any status, in one grouped query each. */
const newestRows = async (deps: ActivityDeps, successOnly: boolean): Promise<Map<string, Row>> => {
  const { sequelize, models } = deps.db;
  const qi = sequelize.getQueryInterface();
  const q = (n: string) => qi.quoteIdentifier(n);
  const ids = await sequelize.query<{ id: number }>(
    `SELECT MAX(${q('id')}) AS ${q('id')} FROM ${q('commits')} WHERE ${q('type')} = 'rpm'` +
      (successOnly ? ` AND ${q('status')} = 'SUCCESS'` : '') +
      ` GROUP BY ${q('project_name')}`,
    { type: QueryTypes.SELECT },
  );
  // Plain rows: a site of thousands of packages reads thousands of them at every post-build.
  // (sequelize types a raw row as the model; it is the plain attributes.)
  const rows = (await models.Commit.findAll({
    where: { id: { [Op.in]: ids.map((r) => r.id) } },
    raw: true,
  })) as unknown as Row[];
  return new Map(rows.map((r) => [r.projectName ?? '', r]));
};

const withLock = async <T>(
  { config, logger }: Pick<ActivityDeps, 'config' | 'logger'>,
  work: () => Promise<T>,
): Promise<{ value: T; waitedMs: number }> => {
  const lockPath = join(config.default.datadir, 'remote.lck');
  await mkdir(config.default.datadir, { recursive: true });
  if (!existsSync(lockPath)) await writeFile(lockPath, '');
  const started = Date.now();
  // The activity heartbeats all along (activities/heartbeat.ts): while it waits, and while it
  // holds the lock, however long the repository takes.
  beat({ step: 'waiting for the post-build lock' });
  // A lock whose refresh failed (a stalled shared disk) is logged; the steps inside are idempotent.
  const lockOptions = {
    staleMs: 60_000,
    onCompromised: (err: Error) => logger.warn({ err }, 'post-build lock compromised'),
  };
  return withLockDir(lockPath, lockOptions, async () => {
    beat({ step: 'post-build' });
    const waitedMs = Date.now() - started;
    return { value: await work(), waitedMs };
  });
};

/** The packages of this repository: the run's list, else every package with a build. */
const packagesToPublish = async (
  deps: ActivityDeps,
  input: PostBuildInput,
  me: CommitAttributes,
  lastProcessed: Map<string, Row>,
): Promise<PublishedPackage[]> => {
  const packages: PublishedPackage[] =
    input.packages ??
    (input.manifest ? [...(await readRunManifest(deps, input.manifest)).packages] : undefined) ??
    [...lastProcessed.keys()].sort().map((name) => ({ name, upstream: 'None', masterDistgit: 'None' }));
  if (!packages.some((p) => p.name === me.projectName))
    packages.push({ name: me.projectName ?? '', upstream: 'None', masterDistgit: 'None' });
  return packages;
};

/** One versions.csv line, in DLRN's columns. */
const versionsLine = (pkg: PublishedPackage, shown: Row, status: string, component: string | null): string =>
  [
    pkg.name,
    pkg.upstream || 'None',
    shown.commitHash,
    pkg.masterDistgit,
    shown.distroHash,
    status,
    py(shown.dtBuild),
    py(component),
    py(shown.extendedHash),
    nvrOf(shown.artifacts),
  ].join(',');

/**
 * versions.csv of the hashed directory, and links to the newest successful RPMs of every other
 * package of the repository; counts the packages whose newest build is not a success (or that
 * never built), as DLRN does.
 */
const writeVersionsAndLinks = async (
  step: { datadir: string; dir: string; me: CommitAttributes; useComponents: boolean; noRepo: boolean },
  packages: PublishedPackage[],
  newest: { success: Map<string, Row>; processed: Map<string, Row> },
): Promise<{ failures: number; linked: number }> => {
  const { datadir, dir, me } = step;
  const lines = [VERSIONS_HEADER];
  let failures = 0;
  let linked = 0;
  for (const pkg of packages) {
    if (step.useComponents && pkg.component && me.component && pkg.component !== me.component) continue;
    if (pkg.name === me.projectName) {
      lines.push(versionsLine(pkg, me, 'SUCCESS', me.component));
      continue;
    }
    const success = newest.success.get(pkg.name);
    const processed = newest.processed.get(pkg.name);
    if (!processed || processed.status !== 'SUCCESS') failures++;
    if (success && !step.noRepo) {
      // Synchronous on purpose: a repository of 2,000 packages is 4,000 links, and one awaited
      // call each (a thread-pool round trip) made post-build grow by a second per 1,000.
      for (const artifact of (success.artifacts ?? '').split(',').filter(Boolean)) {
        const link = join(dir, basename(artifact));
        if (existsSync(link)) continue;
        symlinkSync(relative(dir, join(datadir, artifact)), link);
        linked++;
      }
    }
    const shown = success ?? processed;
    if (shown) lines.push(versionsLine(pkg, shown, processed?.status ?? 'None', me.component));
  }
  await writeFile(join(dir, 'versions.csv'), `${lines.join('\n')}\n`);
  return { failures, linked };
};

/** The repository's metadata (createrepo_c, updating the previous `current`'s) and .repo file. */
const writeRepoFiles = async (
  config: ActivityDeps['config'],
  me: CommitAttributes,
  dir: string,
  relDir: string,
): Promise<void> => {
  const useComponents = config.default.useComponents;
  const previous = join(
    config.default.datadir,
    'repos',
    me.component && useComponents ? `component/${me.component}/current` : 'current',
  );
  const args = ['--quiet'];
  if (existsSync(join(previous, 'repodata', 'repomd.xml')))
    args.push('--update', '--update-md-path', previous);
  if (!config.default.includeSrpmInRepo) args.push('-x', '*.src.rpm');
  try {
    await run('createrepo_c', [...args, dir], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new ToolError(
      `createrepo_c failed on ${dir}: ${(err as { stderr?: string }).stderr ?? String(err)}`,
      {
        cause: err,
      },
    );
  }
  const reponame = config.default.reponame ?? 'delorean';
  const id = useComponents && me.component ? `${reponame}-component-${me.component}` : reponame;
  const baseurl = `${(config.default.baseurl ?? '').replace(/\/$/, '')}/${relDir.replace(/^repos\//, '')}`;
  await writeFile(
    join(dir, `${reponame}.repo`),
    `[${id}]\nname=${reponame}-${me.projectName}-${me.commitHash}\nbaseurl=${baseurl}\nenabled=1\ngpgcheck=0\npriority=1\n`,
  );
};

/**
 * `current`, and `consistent` when nothing fails, moved to the new directory atomically; in
 * component mode the top-level ones are directories of aggregates. Answers the aggregate hash.
 */
const moveLinks = async (
  deps: ActivityDeps,
  input: PostBuildInput,
  me: CommitAttributes,
  dir: string,
  packages: PublishedPackage[],
  consistent: boolean,
): Promise<string | undefined> => {
  const { config } = deps;
  const reposDir = join(config.default.datadir, 'repos');
  const componentMode = config.default.useComponents && Boolean(me.component);
  const linksDir = componentMode ? join(reposDir, 'component', me.component ?? '') : reposDir;
  await mkdir(linksDir, { recursive: true });
  await switchLink(join(linksDir, 'current'), dir);
  if (consistent) await switchLink(join(linksDir, 'consistent'), dir);
  if (!componentMode) return undefined;
  const fromPackages = new Set(packages.map((p) => p.component).filter((c): c is string => Boolean(c)));
  const components = (await knownComponents(deps.db)).filter((c) =>
    input.packages ? fromPackages.has(c) : true,
  );
  const aggregateHash = await aggregateRepoFiles(config, 'current', components);
  if (consistent) await aggregateRepoFiles(config, 'consistent', components);
  return aggregateHash;
};

/** DLRN's `consistent` vote for the build, once: a retried post-build must not vote twice. */
const voteConsistent = async (deps: ActivityDeps, commitId: number, me: CommitAttributes): Promise<void> => {
  const { CiVote } = deps.db.models;
  if ((await CiVote.count({ where: { commitId, ciName: 'consistent' } })) > 0) return;
  await CiVote.create({
    commitId,
    ciName: 'consistent',
    ciUrl: '',
    ciVote: true,
    ciInProgress: false,
    timestamp: me.dtBuild,
    notes: '',
    user: null,
    component: me.component,
  });
};

export const postBuild = async (deps: ActivityDeps, input: PostBuildInput): Promise<PostBuildResult> => {
  const { config } = deps;
  const { value, waitedMs } = await withLock(deps, async () => {
    const started = Date.now();
    const relDir = outputDirOf(input.job);
    const dir = join(config.default.datadir, relDir);
    const built = await deps.db.models.Commit.findByPk(input.commitId);
    if (!built) throw new ToolError(`commit row ${input.commitId} is missing`);
    const me = built.get({ plain: true });
    const [success, processed] = await Promise.all([newestRows(deps, true), newestRows(deps, false)]);
    const packages = await packagesToPublish(deps, input, me, processed);
    const { failures, linked } = await writeVersionsAndLinks(
      {
        datadir: config.default.datadir,
        dir,
        me,
        useComponents: config.default.useComponents,
        noRepo: input.noRepo ?? false,
      },
      packages,
      { success, processed },
    );
    if (!input.noRepo) await writeRepoFiles(config, me, dir, relDir);
    const consistent = failures === 0 && !input.remoteImport;
    const aggregateHash = await moveLinks(deps, input, me, dir, packages, consistent);
    if (consistent && !input.dev) await voteConsistent(deps, input.commitId, me);
    const endedAt = Date.now();
    return {
      failures,
      consistent,
      linked,
      tookMs: endedAt - started,
      startedAt: started,
      endedAt,
      ...(aggregateHash ? { aggregateHash } : {}),
    };
  });
  return { ...value, waitedMs };
};
