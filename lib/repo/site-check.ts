/**
 * `dlrn-check`'s findings: the invariants a healthy site keeps between its database, its
 * published tree under `<datadir>/repos` and Temporal, read without changing anything. Each
 * violation has a short stable code and one line of text, so operators and monitoring can grep
 * for a kind. DLRN has no such check; its sites find breakage by hand.
 */
import { existsSync } from 'node:fs';
import { lstat, opendir, readFile, readlink, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { DlrnConfig } from '../config/index.ts';
import type { CommitAttributes, Database } from '../db/index.ts';
import { QueryTypes } from 'sequelize';
import { PURGED_FLAG } from '../domain/purge.ts';
import { commitDir } from '../domain/repo-layout.ts';
import { promotionTarget } from './promote.ts';
import { listWorkspaces } from './workspaces.ts';

/** Every kind of violation, in the order they are listed. */
const VIOLATION_CODES = [
  'missing-link',
  'missing-dir',
  'missing-artifact',
  'missing-repodata',
  'dangling-link',
  'missing-versions',
  'current-missing',
  'current-outdated',
  'promotion-missing',
  'promotion-mismatch',
  'duplicate-success',
  'orphan-build',
  'stale-lock',
  'orphan-workspace',
  'stale-workspace',
] as const;
type ViolationCode = (typeof VIOLATION_CODES)[number];

interface Violation {
  code: ViolationCode;
  /** What is wrong, as a path relative to `datadir`, a project or a workflow id. */
  subject: string;
  /** Why, in a few words; may be empty. */
  detail: string;
}

/** `<code> <subject>[ <detail>]`: the one line a violation prints as. */
export const formatViolation = (v: Violation): string =>
  [v.code, v.subject, v.detail].filter((part) => part !== '').join(' ');

export interface SiteCheckReport {
  violations: Violation[];
  /** Successful, unpurged rpm builds whose directories were checked. */
  commits: number;
  /** Symlinks under `repos/` that were resolved. */
  links: number;
  /** Checks that could not run, each with the reason (not violations). */
  skipped: string[];
}

/** The running workflows the orphan check needs; a Temporal client's `workflow.list` does. */
export interface TemporalLister {
  client: Pick<Client, 'workflow'>;
  taskQueue: string;
}

interface SiteCheckOptions {
  config: DlrnConfig;
  db: Database;
  /** Epoch milliseconds the ages are measured against. */
  now: number;
  /** A directory under `<datadir>/build` unchanged for longer than this is a stale workspace. */
  staleAfterMinutes: number;
  /** Temporal, when reachable; otherwise why the orphan check is skipped. */
  temporal: TemporalLister | { skipped: string };
}

/** proper-lockfile refreshes a held lock's mtime every 10 s; two minutes means no holder. */
const STALE_LOCK_MS = 2 * 60_000;

type Row = Pick<
  CommitAttributes,
  | 'id'
  | 'type'
  | 'projectName'
  | 'commitHash'
  | 'distroHash'
  | 'extendedHash'
  | 'component'
  | 'artifacts'
  | 'flags'
>;

const isPurged = (r: Row): boolean => ((r.flags ?? 0) & PURGED_FLAG) !== 0;

const dirOfRow = (r: Row): string => `repos/${commitDir({ ...r, commitHash: r.commitHash ?? '' })}`;

const short = (hash: string | null): string => (hash ?? 'None').slice(0, 8);

/** DLRN's artifacts column: comma-separated paths relative to datadir; 'None' or null is none. */
const artifactsOf = (r: Row): string[] =>
  (r.artifacts ?? '').split(',').filter((a) => a !== '' && a !== 'None');

/**
 * Rows sharing (project, commit, distro, extended, type), by their ids: DLRN's unique build key,
 * which should never hold two successes.
 */
export const duplicateSuccesses = (rows: readonly Row[]): Violation[] => {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = [r.projectName, r.commitHash, r.distroHash, r.extendedHash, r.type].join('\u0000');
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()]
    .filter((g) => g.length > 1)
    .map((g) => ({
      code: 'duplicate-success' as const,
      subject: g[0]?.projectName ?? '',
      detail: `${g[0]?.commitHash ?? ''} ${short(g[0]?.distroHash ?? null)}: SUCCESS rows ${g.map((r) => r.id).join(', ')}`,
    }));
};

/** Per project, its newest (highest id) unpurged successful rpm build. */
export const newestSuccesses = (rows: readonly Row[]): Map<string, Row> => {
  const newest = new Map<string, Row>();
  for (const r of rows) {
    if (r.type !== 'rpm' || isPurged(r)) continue;
    const name = r.projectName ?? '';
    if ((newest.get(name)?.id ?? -1) < r.id) newest.set(name, r);
  }
  return newest;
};

/** A versions.csv line's project and hashes. */
interface VersionsEntry {
  commitHash: string;
  distroHash: string;
}

/**
 * Reads versions.csv by project. DLRN does not quote its fields, so a multi-repo upstream list
 * adds columns after the first: the hashes are counted from the end of the line.
 */
export const parseVersionsCsv = (text: string): Map<string, VersionsEntry> => {
  const entries = new Map<string, VersionsEntry>();
  for (const line of text.split('\n').slice(1)) {
    const fields = line.split(',');
    if (fields.length < 10) continue;
    const at = (fromEnd: number) => fields[fields.length - fromEnd] ?? '';
    entries.set(fields[0] ?? '', { commitHash: at(8), distroHash: at(6) });
  }
  return entries;
};

/** Packages whose newest success a `current` versions.csv does not list, or lists an older build of. */
export const compareCurrent = (
  csvPath: string,
  listed: ReadonlyMap<string, VersionsEntry>,
  expected: Iterable<Row>,
): Violation[] =>
  [...expected]
    .sort((a, b) => (a.projectName ?? '').localeCompare(b.projectName ?? ''))
    .flatMap((r): Violation[] => {
      const project = r.projectName ?? '';
      const want = `id ${r.id} ${short(r.commitHash)}/${short(r.distroHash)}`;
      const entry = listed.get(project);
      if (!entry)
        return [{ code: 'current-missing', subject: csvPath, detail: `${project}: newest success ${want}` }];
      if (entry.commitHash === r.commitHash && entry.distroHash === (r.distroHash ?? 'None')) return [];
      return [
        {
          code: 'current-outdated',
          subject: csvPath,
          detail: `${project}: lists ${short(entry.commitHash)}/${short(entry.distroHash)}, newest success ${want}`,
        },
      ];
    });

/** A running workflow, as far as ownership goes. */
interface RunningWorkflow {
  workflowId: string;
  runId: string;
  parent?: { workflowId: string; runId: string };
}

/**
 * Builds no running run or import can own: one whose parent workflow is not running, or, when
 * it has no parent recorded, any build while no owner runs at all.
 */
export const orphanBuilds = (
  builds: readonly RunningWorkflow[],
  owners: readonly RunningWorkflow[],
): Violation[] => {
  const running = new Set(owners.map((o) => `${o.workflowId}\u0000${o.runId}`));
  return builds
    .filter((b) =>
      b.parent ? !running.has(`${b.parent.workflowId}\u0000${b.parent.runId}`) : owners.length === 0,
    )
    .map((b) => ({
      code: 'orphan-build' as const,
      subject: b.workflowId,
      detail: b.parent
        ? `(run ${b.runId}): its parent ${b.parent.workflowId} is not running`
        : `(run ${b.runId}): no run or importCommit workflow is running`,
    }));
};

/** Whether `path` exists: the link itself with lstat (the default), its target with stat. */
const exists = (path: string, how = lstat): Promise<boolean> =>
  how(path).then(
    () => true,
    () => false,
  );

/** Row directories, their artifacts and their repository metadata (`--no-repo` leaves none). */
const checkDirectories = async (datadir: string, reponame: string, rows: readonly Row[]) => {
  const violations: Violation[] = [];
  for (const r of rows) {
    const dir = dirOfRow(r);
    const who = `(${r.projectName ?? ''}, id ${r.id})`;
    if (!existsSync(join(datadir, dir))) {
      violations.push({ code: 'missing-dir', subject: dir, detail: who });
      continue;
    }
    for (const artifact of artifactsOf(r)) {
      if (!existsSync(join(datadir, artifact)))
        violations.push({ code: 'missing-artifact', subject: artifact, detail: who });
    }
    const repomd = `${dir}/repodata/repomd.xml`;
    const noRepo =
      existsSync(join(datadir, dir, 'versions.csv')) &&
      !(await exists(join(datadir, dir, 'repodata'))) &&
      !(await exists(join(datadir, dir, `${reponame}.repo`)));
    if (!noRepo && !existsSync(join(datadir, repomd)))
      violations.push({ code: 'missing-repodata', subject: repomd, detail: who });
  }
  return violations;
};

/** Every symlink under `repos/` that points nowhere; directory links are not followed. */
const checkLinks = async (datadir: string): Promise<{ violations: Violation[]; links: number }> => {
  const violations: Violation[] = [];
  let links = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = [];
    // A directory a concurrent purge removes while we walk is simply gone.
    const handle = await opendir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!handle) return;
    for await (const entry of handle) entries.push(entry);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(path);
        continue;
      }
      if (!entry.isSymbolicLink()) continue;
      links++;
      if (await exists(path, stat)) continue;
      // Read after the failed stat: a link switched or removed meanwhile has no target to report.
      const target = await readlink(path).catch(() => undefined);
      if (target !== undefined)
        violations.push({ code: 'dangling-link', subject: relative(datadir, path), detail: `-> ${target}` });
    }
  };
  await walk(join(datadir, 'repos'));
  return { violations, links };
};

/**
 * `current` and `consistent` where the database says they must be, and each `current`
 * versions.csv listing every package's newest success. `consistent` is required where DLRN's
 * `consistent` vote was recorded: a site with a package that never built successfully, or one fed
 * only by remote imports, legitimately has none.
 */
const checkPointers = async (
  config: DlrnConfig,
  db: Database,
  datadir: string,
  newest: Map<string, Row>,
): Promise<Violation[]> => {
  const violations: Violation[] = [];
  const components = config.default.useComponents;
  const votes = await db.models.CiVote.findAll({
    attributes: ['component'],
    where: { ciName: 'consistent' },
    group: ['component'],
  });
  const voted = votes.map((v) => v.getDataValue('component'));
  const required: string[] = [];
  if (newest.size > 0) required.push('repos/current');
  if (voted.length > 0) required.push('repos/consistent');
  const byComponent = new Map<string, Row[]>();
  if (components) {
    for (const r of newest.values()) {
      if (!r.component || r.component === 'None') continue;
      byComponent.set(r.component, [...(byComponent.get(r.component) ?? []), r]);
    }
    for (const c of [...byComponent.keys()].sort()) required.push(`repos/component/${c}/current`);
    for (const c of voted.filter((c): c is string => Boolean(c && c !== 'None')).sort())
      required.push(`repos/component/${c}/consistent`);
  }
  for (const link of required) {
    if (!(await exists(join(datadir, link))))
      violations.push({
        code: 'missing-link',
        subject: link,
        detail: link.endsWith('current') ? '(successful builds exist)' : '(a consistent vote was recorded)',
      });
  }

  const expectations: [string, Iterable<Row>][] = [['repos/current/versions.csv', newest.values()]];
  for (const [c, rows] of [...byComponent.entries()].sort(([a], [b]) => a.localeCompare(b)))
    expectations.push([`repos/component/${c}/current/versions.csv`, rows]);
  for (const [csv, rows] of expectations) {
    const current = csv.replace(/\/versions\.csv$/, '');
    if (!(await exists(join(datadir, current)))) continue; // reported above
    const text = await readFile(join(datadir, csv), 'utf8').catch(() => undefined);
    if (text === undefined) {
      violations.push({ code: 'missing-versions', subject: csv, detail: '' });
      continue;
    }
    violations.push(...compareCurrent(csv, parseVersionsCsv(text), rows));
  }
  return violations;
};

/**
 * Each promotion name's link against its newest row (the one `/api/promotions` lists first): the
 * link must exist and point at that row's repository (in component mode, per component). A
 * purged commit's promotion is left to the dangling-link check.
 */
export const checkPromotions = async (
  config: DlrnConfig,
  db: Database,
  datadir: string,
): Promise<Violation[]> => {
  const components = config.default.useComponents;
  const group = components ? 'promotion_name, component' : 'promotion_name';
  const newest = await db.sequelize.query<{
    name: string;
    component: string | null;
    commit_id: number;
    id: number;
  }>(
    `SELECT p.id AS id, p.promotion_name AS name, p.component AS component, p.commit_id AS commit_id
       FROM promotions p WHERE p.id IN (SELECT MAX(id) FROM promotions GROUP BY ${group})
      ORDER BY p.promotion_name, p.component`,
    { type: QueryTypes.SELECT },
  );
  const commits = new Map(
    (await db.models.Commit.findAll({ where: { id: newest.map((n) => n.commit_id) } })).map((c) => [
      c.getDataValue('id'),
      c.get({ plain: true }),
    ]),
  );
  const violations: Violation[] = [];
  for (const row of newest) {
    const commit = commits.get(row.commit_id);
    if (!commit || ((commit.flags ?? 0) & PURGED_FLAG) !== 0) continue;
    const base = components ? join('repos', 'component', commit.component ?? 'None') : 'repos';
    const link = join(base, row.name);
    const want = relative(datadir, promotionTarget(config, commit));
    const points = await readlink(join(datadir, link)).catch(() => undefined);
    const rowText = `newest row ${row.id} (${short(commit.commitHash)}/${short(commit.distroHash)})`;
    if (points === undefined)
      violations.push({ code: 'promotion-missing', subject: link, detail: `${rowText} promotes ${want}` });
    else if (relative(datadir, resolve(datadir, base, points)) !== want)
      violations.push({
        code: 'promotion-mismatch',
        subject: link,
        detail: `-> ${points}, but its ${rowText} promotes ${want}`,
      });
  }
  return violations;
};

const ageMinutes = (now: number, mtimeMs: number) => Math.floor((now - mtimeMs) / 60_000);

/** A post-build lock no holder refreshes, and build workspaces nobody has touched for long. */
const checkLeftovers = async (datadir: string, now: number, staleAfterMinutes: number) => {
  const violations: Violation[] = [];
  const lock = await lstat(join(datadir, 'remote.lck.lock')).catch(() => undefined);
  if (lock && now - lock.mtimeMs > STALE_LOCK_MS)
    violations.push({
      code: 'stale-lock',
      subject: 'remote.lck.lock',
      detail: `last refreshed ${new Date(lock.mtimeMs).toISOString()}, ${ageMinutes(now, lock.mtimeMs)} min ago (a holder refreshes it every 10 s)`,
    });
  const build = join(datadir, 'build');
  if (!existsSync(build)) return violations;
  const entries = [];
  for await (const entry of await opendir(build)) if (entry.isDirectory()) entries.push(entry.name);
  for (const name of entries.sort()) {
    const { mtimeMs } = await stat(join(build, name));
    if (now - mtimeMs > staleAfterMinutes * 60_000)
      violations.push({
        code: 'stale-workspace',
        subject: `build/${name}`,
        detail: `unchanged for ${ageMinutes(now, mtimeMs)} min (--stale-after ${staleAfterMinutes})`,
      });
  }
  return violations;
};

/**
 * Workspaces whose owning build is not running: it was terminated, or cancelled while no worker
 * could clean up. Found at once through the owner each workspace records (the next run's sweep
 * removes them); workspaces without one are left to the age rule.
 */
const checkOrphanWorkspaces = async (datadir: string, temporal: TemporalLister): Promise<Violation[]> => {
  const violations: Violation[] = [];
  for (const ws of await listWorkspaces(datadir)) {
    if (!ws.owner) continue;
    let status: string;
    try {
      status = (await temporal.client.workflow.getHandle(ws.owner).describe()).status.name;
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
      status = 'gone';
    }
    if (status === 'RUNNING') continue;
    // Removed meanwhile by its build or by a sweep: nothing to report.
    if (!existsSync(ws.path)) continue;
    const tools = ws.tools.map((t) => `${basename(t.command)} pid ${t.pid} on ${t.host}`);
    violations.push({
      code: 'orphan-workspace',
      subject: `build/${ws.name}`,
      detail: `its build ${ws.owner} is ${status.toLowerCase()}${tools.length ? `; tools still recorded: ${tools.join(', ')}` : ''} (the next dlrn run removes it)`,
    });
  }
  return violations;
};

const toRunning = (w: WorkflowExecutionInfo): RunningWorkflow => ({
  workflowId: w.workflowId,
  runId: w.runId,
  ...(w.parentExecution
    ? { parent: { workflowId: w.parentExecution.workflowId ?? '', runId: w.parentExecution.runId ?? '' } }
    : {}),
});

/** Running workflows on the site's task queue matching `types`. */
const runningWorkflows = async (
  temporal: TemporalLister,
  types: readonly string[],
): Promise<RunningWorkflow[]> => {
  const query =
    `(${types.map((t) => `WorkflowType = '${t}'`).join(' OR ')}) AND ExecutionStatus = 'Running'` +
    ` AND TaskQueue = '${temporal.taskQueue}'`;
  const found: RunningWorkflow[] = [];
  for await (const w of temporal.client.workflow.list({ query })) found.push(toRunning(w));
  return found.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
};

/**
 * Runs every check and returns what is wrong. Reads the database, the tree and Temporal; writes
 * nothing. Throws only when a source cannot be read at all (a database error, a tree that cannot
 * be listed).
 */
export const checkSite = async (options: SiteCheckOptions): Promise<SiteCheckReport> => {
  const { config, db, now, staleAfterMinutes, temporal } = options;
  const datadir = resolve(config.default.datadir);
  const reponame = config.default.reponame ?? 'delorean';
  const rows: Row[] = (
    await db.models.Commit.findAll({
      attributes: [
        'id',
        'type',
        'projectName',
        'commitHash',
        'distroHash',
        'extendedHash',
        'component',
        'artifacts',
        'flags',
      ],
      where: { status: 'SUCCESS' },
      order: [['id', 'ASC']],
    })
  ).map((r) => r.get({ plain: true }));
  const checked = rows.filter((r) => r.type === 'rpm' && !isPurged(r));
  const newest = newestSuccesses(rows);

  const violations: Violation[] = [];
  violations.push(...(await checkPointers(config, db, datadir, newest)));
  violations.push(...(await checkPromotions(config, db, datadir)));
  violations.push(...(await checkDirectories(datadir, reponame, checked)));
  const walked = await checkLinks(datadir);
  violations.push(...walked.violations);
  violations.push(...duplicateSuccesses(rows));
  const skipped: string[] = [];
  if ('skipped' in temporal) {
    skipped.push(`orphan builds: ${temporal.skipped}`);
  } else {
    const [builds, owners] = await Promise.all([
      runningWorkflows(temporal, ['buildCommit']),
      runningWorkflows(temporal, ['run', 'importCommit']),
    ]);
    violations.push(...orphanBuilds(builds, owners));
    violations.push(...(await checkOrphanWorkspaces(datadir, temporal)));
  }
  violations.push(...(await checkLeftovers(datadir, now, staleAfterMinutes)));
  const rank = (v: Violation) => VIOLATION_CODES.indexOf(v.code);
  return {
    // Array.prototype.sort is stable: within a code, the order each check found them in.
    violations: violations.sort((a, b) => rank(a) - rank(b)),
    commits: checked.length,
    links: walked.links,
    skipped,
  };
};
