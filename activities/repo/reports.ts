/**
 * generateReports: DLRN's static reports in `<datadir>/repos` (dlrn-spec §4.13), from the
 * templates in `templatedir`: report.html (the 300 newest builds), status_report.html and
 * status_report.csv (the last build of every package, failures with their first failing commit),
 * queue.html (what the run still has to build) and styles.css. Each file is written beside its
 * place and renamed over it, so a reader never sees half a report.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { Op } from 'sequelize';
import type { CommitAttributes } from '../../lib/db/index.ts';
import type { CommitCandidate } from '../../lib/domain/packages.ts';
import { readRunManifest } from '../run-manifest.ts';
import { commitDir } from '../../lib/domain/repo-layout.ts';
import type { ActivityDeps } from '../deps.ts';

export interface ReportsInput {
  /** Upstream URL of each package, for links to its commits. */
  upstreams?: Record<string, string>;
  /** Commits of the current run not built yet (queue.html). */
  pending?: CommitCandidate[];
  /** The run's manifest (activities/run-manifest.ts): its upstreams and queue stand for both above. */
  manifest?: string;
  /** `--head-only`: status_report says not every commit was built. */
  headOnly?: boolean;
  /** Epoch seconds, for "days since last success". */
  now: number;
}

const utc = (epoch: number | null): string =>
  epoch === null
    ? ''
    : new Date(epoch * 1000)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, '');

/** DLRN's commit links: cgit for git.openstack.org, /commit/ for GitHub and OpenDev, else the repository. */
export const commitUrl = (upstream: string | undefined, hash: string): string | undefined => {
  if (!upstream || upstream === 'Unknown') return undefined;
  try {
    const url = new URL(upstream);
    const path = url.pathname.replace(/\.git$/, '');
    if (url.host === 'git.openstack.org') return `http://${url.host}/cgit${path}/commit/?id=${hash}`;
    if (url.host === 'github.com' || url.host === 'opendev.org')
      return `https://${url.host}${path}/commit/${hash}`;
    return upstream;
  } catch {
    return upstream;
  }
};

const dirOf = (c: CommitAttributes): string =>
  commitDir({
    commitHash: c.commitHash ?? '',
    distroHash: c.distroHash,
    extendedHash: c.extendedHash,
    component: c.component,
  });

const atomicWrite = async (file: string, text: string): Promise<void> => {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
};

/** report.html's rows: the 300 newest builds, RETRY left out, as DLRN lists them. */
const recentBuilds = async (deps: ActivityDeps, upstreams: ReportsInput['upstreams']) =>
  (
    await deps.db.models.Commit.findAll({
      where: { type: 'rpm', status: { [Op.ne]: 'RETRY' } },
      order: [['id', 'DESC']],
      limit: 300,
    })
  ).map((row) => {
    const c = row.get({ plain: true });
    return {
      dtBuild: utc(c.dtBuild),
      dtCommit: utc(c.dtCommit),
      projectName: c.projectName,
      commitHash: c.commitHash,
      commitUrl: commitUrl(upstreams?.[c.projectName ?? ''], c.commitHash ?? ''),
      component: c.component ?? '',
      status: c.status === 'SUCCESS' ? 'SUCCESS' : 'FAILED',
      dir: dirOf(c),
      importSource: (c.versionsCsv ?? '').replace(/\/versions\.csv$/, ''),
    };
  });

/** The last build of every package, and for failing ones the first failure after the last success. */
const packageStatuses = (all: CommitAttributes[], now: number) => {
  const byPackage = new Map<string, CommitAttributes[]>();
  for (const c of all) {
    const list = byPackage.get(c.projectName ?? '') ?? [];
    list.push(c);
    byPackage.set(c.projectName ?? '', list);
  }
  return [...byPackage.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, builds]) => {
      const last = builds.at(-1) as CommitAttributes;
      const lastSuccess = builds.filter((b) => b.status === 'SUCCESS').at(-1);
      const firstFailure =
        last.status === 'SUCCESS'
          ? undefined
          : builds.find((b) => b.status === 'FAILED' && (!lastSuccess || b.id > lastSuccess.id));
      const firstArtifact = (last.artifacts ?? lastSuccess?.artifacts ?? '').split(',')[0] ?? '';
      return {
        name,
        nvr: (firstArtifact.split('/').at(-1) ?? '').replace(
          /\.(noarch|x86_64|src|aarch64|ppc64le)\.rpm$/,
          '',
        ),
        commitHash: last.commitHash,
        status: last.status,
        dir: dirOf(last),
        firstFailure: firstFailure
          ? { commitHash: firstFailure.commitHash, dir: dirOf(firstFailure) }
          : undefined,
        daysSinceSuccess: lastSuccess?.dtBuild
          ? String(Math.floor((now - lastSuccess.dtBuild) / 86_400))
          : 'Never',
        row: last,
      };
    });
};

/** status_report.csv: DLRN's columns, the artifacts joined by `|`. */
const statusCsv = (packages: ReturnType<typeof packageStatuses>): string =>
  [
    'Project,Source Sha,Dist Sha,Extended Sha,Component,Status,Timestamp,Packages',
    ...packages.map(({ name, row }) =>
      [
        name,
        row.commitHash,
        row.distroHash,
        row.extendedHash ?? 'None',
        row.component ?? 'None',
        row.status,
        row.dtBuild ?? 'None',
        (row.artifacts ?? '').replace(/,/g, '|'),
      ].join(','),
    ),
  ].join('\n') + '\n';

/** queue.html's rows: the run's commits with no non-RETRY row yet. */
const stillQueued = (pending: ReportsInput['pending'], all: CommitAttributes[]) =>
  (pending ?? [])
    .filter(
      (p) =>
        !all.some(
          (c) =>
            c.status !== 'RETRY' &&
            c.projectName === p.projectName &&
            c.commitHash === p.commitHash &&
            c.distroHash === p.distroHash &&
            (c.extendedHash ?? null) === (p.extendedHash ?? null),
        ),
    )
    .map((p) => ({ dtCommit: utc(p.dtCommit), projectName: p.projectName, commitHash: p.commitHash }));

export const generateReports = async (
  deps: ActivityDeps,
  input: ReportsInput,
): Promise<{ builds: number; packages: number }> => {
  if (input.manifest) {
    const { upstreams, queue } = await readRunManifest(deps, input.manifest);
    input = { ...input, upstreams, pending: queue };
  }
  const { config, db } = deps;
  const d = config.default;
  const repos = join(d.datadir, 'repos');
  await mkdir(repos, { recursive: true });
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(d.templatedir), { autoescape: true });
  const common = {
    project_name: d.projectName,
    reponame: d.reponame ?? 'delorean',
    target: d.target ?? '',
    source: d.source ?? '',
  };
  const commits = await recentBuilds(deps, input.upstreams);
  await atomicWrite(
    join(repos, 'report.html'),
    env.render('report.html.j2', { ...common, commits, downstream: config.pkginfo.name === 'downstream' }),
  );
  const all = (await db.models.Commit.findAll({ where: { type: 'rpm' }, order: [['id', 'ASC']] })).map((r) =>
    r.get({ plain: true }),
  );
  const packages = packageStatuses(all, input.now);
  await atomicWrite(
    join(repos, 'status_report.html'),
    env.render('status_report.html.j2', { ...common, packages, head_only: input.headOnly ?? false }),
  );
  await atomicWrite(join(repos, 'status_report.csv'), statusCsv(packages));
  await atomicWrite(
    join(repos, 'queue.html'),
    env.render('queue.html.j2', { ...common, queue: stillQueued(input.pending, all) }),
  );
  await atomicWrite(
    join(repos, 'styles.css'),
    await readFile(join(d.templatedir, 'stylesheets', 'styles.css'), 'utf8'),
  );
  return { builds: commits.length, packages: packages.length };
};
