/**
 * Discovery activities of the `run` workflow: list packages, find the commits of one package
 * that still need a build, order builds from spec dependencies, and the skiplist.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Op } from 'sequelize';
import { buildOrder, parseSpecDeps, type BuildOrder } from '../lib/domain/build-order.ts';
import { commitWindow, newCommits } from '../lib/domain/discovery.ts';
import type {
  CommitCandidate,
  CommitType,
  PackageInfo,
  PackageList,
  StoredCommit,
} from '../lib/domain/packages.ts';
import type { CommitModel } from '../lib/db/index.ts';
import type { ActivityDeps } from './deps.ts';
import { createPkginfoDriver, type DriverRun } from './pkginfo/index.ts';

const run = promisify(execFile);

export interface DiscoverInput {
  pkg: PackageInfo;
  driverRun: DriverRun;
  type: CommitType;
  /** `--head-only` (and `--run`): only the newest commit. */
  headOnly: boolean;
  /** `--dev` and `--run` keep commits that were already built. */
  keepBuilt: boolean;
}

export interface DiscoverResult {
  commits: CommitCandidate[];
  skipped: boolean;
  error?: string;
}

const stored = (row: CommitModel): StoredCommit => {
  const c = row.get({ plain: true });
  return {
    id: c.id,
    commitHash: c.commitHash,
    distroHash: c.distroHash,
    extendedHash: c.extendedHash,
    dtCommit: c.dtCommit,
    dtBuild: c.dtBuild,
    commitBranch: c.commitBranch,
    status: c.status,
    type: c.type,
  };
};

/** The packages the configured driver lists, with its warnings (a `tags=` no package carries). */
export const readPackageList = (deps: ActivityDeps, driverRun: DriverRun): Promise<PackageList> =>
  createPkginfoDriver(deps.config).getPackages(driverRun);

/** The packages of the configured driver (its warnings go to the log). */
export const listPackages = async (deps: ActivityDeps, driverRun: DriverRun): Promise<PackageInfo[]> => {
  const { packages, warnings } = await readPackageList(deps, driverRun);
  for (const warning of warnings) deps.logger.warn({ warning }, 'package information');
  return packages;
};

/** The commits of one package that are new since the last processed one (dlrn-spec §4.2). */
export const discoverCommits = async (deps: ActivityDeps, input: DiscoverInput): Promise<DiscoverResult> => {
  const { Commit } = deps.db.models;
  const { pkg, type } = input;
  const notRetry = { projectName: pkg.name, type, status: { [Op.ne]: 'RETRY' } };
  const lastProcessed = await Commit.findOne({ where: notRetry, order: [['id', 'DESC']] });
  const sourceBranch = pkg.sourceBranch ?? deps.config.default.source;
  const lastOnBranch =
    lastProcessed && lastProcessed.get('commitBranch') !== sourceBranch
      ? await Commit.findOne({
          where: { ...notRetry, commitBranch: sourceBranch },
          order: [
            ['dtBuild', 'DESC'],
            ['id', 'DESC'],
          ],
        })
      : null;
  const window = commitWindow(
    lastProcessed ? stored(lastProcessed) : null,
    lastOnBranch ? stored(lastOnBranch) : null,
    sourceBranch,
    input.headOnly,
  );
  const found = await createPkginfoDriver(deps.config).getInfo(pkg, window, input.driverRun, type);
  if (found.skipped || found.commits.length === 0) return found;
  const rows = await Commit.findAll({
    where: {
      ...notRetry,
      [Op.or]: [
        { commitHash: found.commits.map((c) => c.commitHash) },
        { dtCommit: found.commits.map((c) => Math.trunc(c.dtCommit)) },
      ],
    },
  });
  const commits = newCommits(found.commits, rows.map(stored), input.keepBuilt);
  if (commits.length === 0) return { ...found, commits };
  const retryRows = await Commit.findAll({
    where: { projectName: pkg.name, type, status: 'RETRY', commitHash: commits.map((c) => c.commitHash) },
  });
  const retriesOf = (c: CommitCandidate): number =>
    retryRows.filter(
      (r) =>
        r.getDataValue('commitHash') === c.commitHash &&
        r.getDataValue('distroHash') === c.distroHash &&
        (r.getDataValue('extendedHash') ?? null) === (c.extendedHash ?? null),
    ).length;
  return {
    ...found,
    commits: commits.map((c) => {
      const retries = retriesOf(c);
      return retries > 0 ? { ...c, retries } : c;
    }),
  };
};

/** `<datadir>/repos/skiplist.txt`: the packages whose git operations failed in this run. */
export const writeSkiplist = async (deps: ActivityDeps, names: string[]): Promise<void> => {
  const repos = join(deps.config.default.datadir, 'repos');
  await mkdir(repos, { recursive: true });
  const file = join(repos, 'skiplist.txt');
  await writeFile(`${file}.tmp`, names.map((n) => `${n}\n`).join(''));
  await rename(`${file}.tmp`, file);
};

export interface OrderResult extends BuildOrder {
  /** Packages whose spec mentions `repo_bootstrap` (built twice with --order, as DLRN does). */
  bootstrap: string[];
  /** Specs `rpmspec -P` could not expand (read as written instead), with rpmspec's message. */
  unexpanded: { project: string; error: string }[];
}

/** `--order`: expand each package's spec with rpmspec and order by their dependencies. */
export const orderBuilds = async (deps: ActivityDeps, packages: PackageInfo[]): Promise<OrderResult> => {
  const driver = createPkginfoDriver(deps.config);
  const specs = [];
  const bootstrap: string[] = [];
  const unexpanded: { project: string; error: string }[] = [];
  for (const pkg of [...packages].sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = driver.distgitDir(pkg);
    const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.spec')).sort();
    const specFile = files.at(-1);
    if (!specFile) continue;
    const path = join(dir, specFile);
    const raw = await readFile(path, 'utf8');
    if (raw.includes('repo_bootstrap')) bootstrap.push(pkg.name);
    let text = raw;
    try {
      text = (await run('rpmspec', ['-D', 'repo_bootstrap 1', '-P', path], { maxBuffer: 64 * 1024 * 1024 }))
        .stdout;
    } catch (err) {
      unexpanded.push({
        project: pkg.name,
        error: ((err as { stderr?: string }).stderr ?? String(err)).trim(),
      });
    }
    specs.push(parseSpecDeps(pkg.name, text));
  }
  return { ...buildOrder(specs), bootstrap, unexpanded };
};

export interface PackageStatus {
  name: string;
  type: CommitType;
  /** The newest row's status, RETRY included; `NO_BUILD` when there is none. */
  status: string;
}

/** `--status`: the newest build of every package and type. */
export const packageStatus = async (
  deps: ActivityDeps,
  packages: PackageInfo[],
): Promise<PackageStatus[]> => {
  const { Commit } = deps.db.models;
  const out: PackageStatus[] = [];
  for (const pkg of packages) {
    for (const type of pkg.types) {
      const last = await Commit.findOne({ where: { projectName: pkg.name, type }, order: [['id', 'DESC']] });
      out.push({ name: pkg.name, type, status: last?.getDataValue('status') ?? 'NO_BUILD' });
    }
  }
  return out;
};

export interface RecheckResult {
  name: string;
  outcome: 'deleted' | 'no-commit' | 'successful';
  commitHash?: string;
}

/**
 * `--recheck`: delete the last processed (non-RETRY) commit of each package so the next run
 * builds it again. A successful one only with `--force-recheck` and `allow_force_rechecks`.
 */
export const recheckPackages = async (
  deps: ActivityDeps,
  input: { names: string[]; force: boolean },
): Promise<RecheckResult[]> => {
  const { Commit } = deps.db.models;
  const out: RecheckResult[] = [];
  for (const name of input.names) {
    const last = await Commit.findOne({
      where: { projectName: name, type: 'rpm', status: { [Op.ne]: 'RETRY' } },
      order: [['id', 'DESC']],
    });
    if (!last) {
      out.push({ name, outcome: 'no-commit' });
      continue;
    }
    const commitHash = last.getDataValue('commitHash') ?? '';
    if (
      last.getDataValue('status') === 'SUCCESS' &&
      !(input.force && deps.config.default.allowForceRechecks)
    ) {
      out.push({ name, outcome: 'successful', commitHash });
      continue;
    }
    await last.destroy();
    out.push({ name, outcome: 'deleted', commitHash });
  }
  return out;
};
