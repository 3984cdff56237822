/**
 * Importing a commit built by another instance (dlrn-spec §8.2), as `dlrn-remote` and the API's
 * `/api/remote/import` do: read `commit.yaml` from the remote hashed repository, skip what is
 * older than what we have, download the logs and RPMs into our tree. The import workflow then
 * records the row and runs post-build (which never moves `consistent` for an import).
 *
 * Differences from DLRN, on purpose: a missing RPM fails the import (retried; DLRN only logs it
 * and publishes a repository without it), artifact paths must stay inside `<datadir>/repos`, and
 * `None` strings become NULL in every nullable column (DLRN stores some verbatim).
 */
import { beat } from '../heartbeat.ts';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, posix, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { InputError, TransientBuildError } from '../../lib/domain/errors.ts';
import type { CommitCandidate } from '../../lib/domain/packages.ts';
import { commitDir } from '../../lib/domain/repo-layout.ts';
import type { ActivityDeps } from '../deps.ts';

/** A commit as commit.yaml describes it, with DLRN's coercions applied. */
export interface RemoteCommit {
  commit: CommitCandidate;
  dtBuild: number;
  status: 'SUCCESS' | 'FAILED' | 'RETRY';
  notes: string;
  /** Paths relative to datadir (`repos/ab/cd/<dir>/<file>.rpm`). */
  artifacts: string[];
}

const LOG_FILES = ['build.log', 'installed', 'mock.log', 'root.log', 'rpmbuild.log', 'state.log'];

/** `None` (Python's str(None)) or empty means no value. */
const nullable = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === undefined || v === null || v === 'None' || v === '' ? null : String(v)));
const required = (name: string) =>
  z
    .union([z.string(), z.number()])
    .transform(String)
    .refine((v) => v !== '' && v !== 'None', { message: `${name} is required` });
const number = (integer: boolean) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const n = Number(v);
    if (v === '' || !Number.isFinite(n)) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not a number` });
      return z.NEVER;
    }
    return integer ? Math.trunc(n) : n;
  });
const optionalInt = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) =>
    v === undefined || v === null || v === 'None' || v === '' ? 0 : Math.trunc(Number(v)) || 0,
  );

const commitSchema = z.object({
  project_name: required('project_name'),
  commit_hash: required('commit_hash'),
  distro_hash: required('distro_hash'),
  extended_hash: nullable,
  commit_branch: nullable,
  component: nullable,
  type: nullable,
  status: z.enum(['SUCCESS', 'FAILED', 'RETRY']),
  dt_commit: number(false),
  dt_distro: number(true),
  dt_extended: optionalInt,
  dt_build: number(true),
  artifacts: nullable,
  notes: nullable,
  repo_dir: nullable,
  distgit_dir: nullable,
  versions_csv: nullable,
});

const fileSchema = z.object({ commits: z.array(commitSchema).min(1, 'commit.yaml lists no commits') });

/** Parses commit.yaml; an InputError names every bad field. */
const parseCommitYaml = (text: string, source: string): RemoteCommit[] => {
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new InputError(`${source} is not YAML: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new InputError(`${source} is not a DLRN commit.yaml: ${issues.join('; ')}`);
  }
  return parsed.data.commits.map((c) => ({
    commit: {
      projectName: c.project_name,
      type: c.type === 'container' ? 'container' : 'rpm',
      commitHash: c.commit_hash,
      distroHash: c.distro_hash,
      extendedHash: c.extended_hash,
      dtCommit: c.dt_commit,
      dtDistro: c.dt_distro,
      dtExtended: c.dt_extended,
      commitBranch: c.commit_branch ?? '',
      repoDir: c.repo_dir,
      distgitDir: c.distgit_dir ?? '',
      component: c.component,
      versionsCsv: c.versions_csv,
    },
    dtBuild: c.dt_build,
    status: c.status,
    notes: c.notes ?? '',
    artifacts: (c.artifacts ?? '').split(',').filter(Boolean),
  }));
};

const joinUrl = (base: string, name: string) => `${base.replace(/\/+$/, '')}/${name}`;

/**
 * The bytes at `url` (file:, http:, https:), or undefined when the server says 404 or the file
 * does not exist. Other HTTP errors and network failures throw TransientBuildError (retried).
 */
const fetchBytes = async (url: string, timeoutMs: number): Promise<Buffer | undefined> => {
  const parsed = new URL(url);
  if (parsed.protocol === 'file:') {
    try {
      return await readFile(fileURLToPath(parsed));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new InputError(`${url}: only http, https and file URLs can be imported`);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new TransientBuildError(`cannot fetch ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (response.status === 404) return undefined;
  if (!response.ok) throw new TransientBuildError(`cannot fetch ${url}: HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
};

/** Reads and checks `<repoUrl>/commit.yaml`. */
export const fetchRemoteCommits = async (_deps: ActivityDeps, repoUrl: string): Promise<RemoteCommit[]> => {
  const url = joinUrl(repoUrl, 'commit.yaml');
  const bytes = await fetchBytes(url, 10_000);
  if (!bytes) throw new InputError(`${url} does not exist`);
  return parseCommitYaml(bytes.toString('utf8'), url);
};

export type ImportDecision = { skip: true; reason: string } | { skip: false };

/**
 * Skips a commit whose project already has a processed build at least as new (both commit and
 * distgit times); otherwise downloads its logs and RPMs into its hashed directory.
 */
export const prepareImport = async (
  deps: ActivityDeps,
  input: { repoUrl: string; remote: RemoteCommit },
): Promise<ImportDecision> => {
  const { commit } = input.remote;
  const last = await deps.db.models.Commit.findOne({
    where: { projectName: commit.projectName, type: commit.type },
    order: [['id', 'DESC']],
  });
  // DLRN's last processed commit ignores RETRY rows.
  const lastProcessed =
    last && last.getDataValue('status') === 'RETRY'
      ? await deps.db.models.Commit.findOne({
          where: { projectName: commit.projectName, type: commit.type, status: ['SUCCESS', 'FAILED'] },
          order: [['id', 'DESC']],
        })
      : last;
  if (
    lastProcessed &&
    (lastProcessed.getDataValue('dtCommit') ?? 0) >= commit.dtCommit &&
    (lastProcessed.getDataValue('dtDistro') ?? 0) >= commit.dtDistro
  ) {
    return {
      skip: true,
      reason: `a newer commit of ${commit.projectName} is already built (${lastProcessed.getDataValue('commitHash') ?? ''})`,
    };
  }
  const datadir = resolve(deps.config.default.datadir);
  const repos = join(datadir, 'repos');
  const dir = join(repos, commitDir(commit));
  // Checked before anything is written.
  for (const artifact of input.remote.artifacts) {
    const target = resolve(datadir, artifact);
    if (!target.startsWith(repos + sep) || !target.endsWith('.rpm'))
      throw new InputError(`artifact ${artifact} is not an RPM under repos/; refusing to write it`);
  }
  await mkdir(dir, { recursive: true });
  for (const name of LOG_FILES) {
    const bytes = await fetchBytes(joinUrl(input.repoUrl, name), 10_000).catch(() => undefined);
    if (bytes) await writeFile(join(dir, name), bytes);
  }
  for (const [i, artifact] of input.remote.artifacts.entries()) {
    const target = resolve(datadir, artifact);
    const url = joinUrl(input.repoUrl, posix.basename(artifact));
    const bytes = await fetchBytes(url, 45_000);
    if (!bytes) throw new TransientBuildError(`${url} does not exist`);
    await mkdir(dirname(target), { recursive: true });
    // Whole files only: a crash mid-write leaves a temporary name, never half an RPM.
    await writeFile(`${target}.part`, bytes);
    await rename(`${target}.part`, target);
    beat({ downloaded: i + 1, of: input.remote.artifacts.length });
  }
  return { skip: false };
};
