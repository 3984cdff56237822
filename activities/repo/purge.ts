/**
 * The purge workflow's side effects (dlrn-spec §8.1): gather the facts about old builds and
 * decide what goes (lib/domain/purge.ts), then remove directories and flag rows in batches.
 * Every step is idempotent, so a worker crash in the middle is repaired by the retry.
 *
 * In component mode, the hashed aggregate directories of `current`, `consistent` and every
 * promotion name older than the cut-off go too, except the one each name points at.
 */
import { beat } from '../heartbeat.ts';
import { existsSync } from 'node:fs';
import { lstat, readdir, realpath, rm, stat, unlink } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { Op } from 'sequelize';
import { commitDir } from '../../lib/domain/repo-layout.ts';
import {
  decidePurge,
  successKey,
  type PurgeAction,
  type PurgeCandidate,
  type PurgeDecision,
} from '../../lib/domain/purge.ts';
import {
  knownComponents,
  markPurged,
  newestSuccessBuildTimes,
  promotionNames,
  type CommitAttributes,
} from '../../lib/db/index.ts';
import type { ActivityDeps } from '../deps.ts';

export interface PurgePlanInput {
  /** Builds with `dt_build` before this epoch second are candidates. */
  cutoff: number;
  /** `--exclude-dirs`: directories whose RPMs must stay, absolute or relative to the cwd. */
  excludeDirs: string[];
  /** Base for relative `excludeDirs` (the command's working directory). */
  cwd: string;
}

/** What a purge would do, compact enough for a workflow history with any number of rows. */
export interface PurgePlan {
  /** Row ids per action, newest first. */
  actions: Record<PurgeAction, number[]>;
  kept: number;
  excluded: number;
  alreadyPurged: number;
  /** The first LISTING_LIMIT decisions, for people to read (`--dry-run`). */
  listing: PurgeListing[];
  /** Component mode: aggregate directories (relative to repos/) older than the cut-off. */
  aggregates: string[];
}

export interface PurgeListing {
  id: number;
  projectName: string;
  status: string;
  dir: string;
  action: PurgeAction | 'keep' | 'exclude';
}

const LISTING_LIMIT = 2000;

const listingOf = (decision: PurgeDecision): PurgeListing[] => {
  const entries: PurgeListing[] = [
    ...decision.steps,
    ...decision.kept.map((c) => ({ ...c, action: 'keep' as const })),
    ...decision.excluded.map((c) => ({ ...c, action: 'exclude' as const })),
  ];
  return entries
    .sort((a, b) => b.id - a.id)
    .slice(0, LISTING_LIMIT)
    .map(({ id, projectName, status, dir, action }) => ({ id, projectName, status, dir, action }));
};

const reposDir = (deps: ActivityDeps) => resolve(deps.config.default.datadir, 'repos');

/** Whether any of the commit's RPM file names is in one of the directories (or, in component mode, the same relative directory of any component). */
const inExcludedDirs = (
  artifacts: string | null,
  dirs: string[],
  repos: string,
  components: string[],
): boolean => {
  if (!artifacts || dirs.length === 0) return false;
  const names = artifacts.split(',').map((a) => basename(a));
  const places = dirs.flatMap((dir) => {
    const rel = relative(repos, dir);
    return [dir, ...components.map((c) => join(repos, 'component', c, rel))];
  });
  return names.some((name) => places.some((place) => existsSync(join(place, name))));
};

const IN_BATCH = 500;

const dirOf = (r: CommitAttributes): string =>
  commitDir({
    commitHash: r.commitHash ?? '',
    distroHash: r.distroHash,
    extendedHash: r.extendedHash,
    component: r.component,
  });

const successfulCommitKeys = async (
  deps: ActivityDeps,
  candidates: PurgeCandidate[],
): Promise<Set<string>> => {
  const unsuccessful = candidates.filter((c) => c.status !== 'SUCCESS');
  const keys = new Set<string>();
  for (let i = 0; i < unsuccessful.length; i += IN_BATCH) {
    const hashes = [...new Set(unsuccessful.slice(i, i + IN_BATCH).map((c) => c.commitHash))];
    const rows = await deps.db.models.Commit.findAll({
      attributes: ['projectName', 'commitHash'],
      where: { type: 'rpm', status: 'SUCCESS', commitHash: { [Op.in]: hashes } },
    });
    for (const r of rows)
      keys.add(successKey(r.getDataValue('projectName') ?? '', r.getDataValue('commitHash') ?? ''));
  }
  return keys;
};

const agedAggregates = async (deps: ActivityDeps, cutoff: number): Promise<string[]> => {
  const repos = reposDir(deps);
  const reponame = deps.config.default.reponame ?? 'delorean';
  const names = [...new Set(['current', 'consistent', ...(await promotionNames(deps.db))])];
  const aged: string[] = [];
  for (const name of names) {
    const top = join(repos, name);
    const repoFile = join(top, `${reponame}.repo`);
    const protectedDir = (await lstat(repoFile).catch(() => undefined))?.isSymbolicLink()
      ? resolve(await realpath(repoFile), '..')
      : undefined;
    for (const a of await subdirs(top, /^[0-9a-f]{2}$/)) {
      for (const b of await subdirs(join(top, a), /^[0-9a-f]{2}$/)) {
        for (const hash of await subdirs(join(top, a, b), /./)) {
          const dir = join(top, a, b, hash);
          if ((await stat(dir)).mtimeMs / 1000 >= cutoff) continue;
          if (protectedDir && (await realpath(dir)) === protectedDir) continue;
          aged.push(relative(repos, dir));
        }
      }
    }
  }
  return aged;
};

const subdirs = async (dir: string, pattern: RegExp): Promise<string[]> => {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && pattern.test(e.name)).map((e) => e.name);
};

/** What a purge with this cut-off would do; changes nothing. */
export const planPurge = async (deps: ActivityDeps, input: PurgePlanInput): Promise<PurgePlan> => {
  const { Commit } = deps.db.models;
  const repos = reposDir(deps);
  const rows = (
    await Commit.findAll({
      where: { type: 'rpm', dtBuild: { [Op.lt]: input.cutoff } },
      order: [['id', 'DESC']],
    })
  ).map((r) => r.get({ plain: true }));
  const components = deps.config.default.useComponents ? await knownComponents(deps.db) : [];
  const excludeDirs = input.excludeDirs.map((d) => (isAbsolute(d) ? d : resolve(input.cwd, d)));
  const candidates: PurgeCandidate[] = rows.map((r) => ({
    id: r.id,
    projectName: r.projectName ?? '',
    commitHash: r.commitHash ?? '',
    status: r.status ?? '',
    dtBuild: r.dtBuild ?? 0,
    flags: r.flags ?? 0,
    dir: dirOf(r),
  }));
  const excluded = new Set(
    rows.filter((r) => inExcludedDirs(r.artifacts, excludeDirs, repos, components)).map((r) => r.id),
  );
  const decision = decidePurge(candidates, {
    newestSuccess: await newestSuccessBuildTimes(deps.db),
    successfulCommits: await successfulCommitKeys(deps, candidates),
    excluded,
  });
  const aggregates = deps.config.default.useComponents ? await agedAggregates(deps, input.cutoff) : [];
  const actions: Record<PurgeAction, number[]> = { remove: [], 'keep-rpms': [], 'flag-only': [] };
  for (const step of decision.steps) actions[step.action].push(step.id);
  return {
    actions,
    kept: decision.kept.length,
    excluded: decision.excluded.length,
    alreadyPurged: decision.alreadyPurged,
    listing: listingOf(decision),
    aggregates,
  };
};

/** Everything in `dir` except regular RPM files. */
const removeAllButRpms = async (dir: string): Promise<void> => {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name.endsWith('.rpm')) continue;
    if (entry.isDirectory()) await rm(path, { recursive: true, force: true });
    else await unlink(path).catch(() => undefined);
  }
};

/**
 * Purges the rows `ids` with one action: their directories first, then the PURGED flag, both
 * safe to repeat.
 */
export const applyPurgeSteps = async (
  deps: ActivityDeps,
  input: { action: PurgeAction; ids: number[] },
): Promise<number> => {
  const repos = reposDir(deps);
  const rows = (await deps.db.models.Commit.findAll({ where: { id: { [Op.in]: input.ids } } })).map((r) =>
    r.get({ plain: true }),
  );
  for (const [i, row] of rows.entries()) {
    const dir = join(repos, dirOf(row));
    if (input.action === 'remove') await rm(dir, { recursive: true, force: true });
    else if (input.action === 'keep-rpms') await removeAllButRpms(dir);
    beat({ done: i + 1, of: rows.length });
  }
  await markPurged(deps.db, input.ids);
  return rows.length;
};

/** Removes aged component aggregate directories (paths relative to repos/). */
export const removeAggregates = async (deps: ActivityDeps, dirs: string[]): Promise<number> => {
  const repos = reposDir(deps);
  for (const dir of dirs) await rm(join(repos, dir), { recursive: true, force: true });
  return dirs.length;
};
