/**
 * prepareSources: the build's own copies of the sources at the exact hashes, so builds of
 * different commits never share a checkout: a git worktree of the upstream clone at the commit,
 * and the distgit tree at the distro commit. Workers share `datadir` (see deploy/).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { simpleGit } from 'simple-git';
import { outputDirOf, type BuildJob } from '../../lib/domain/build.ts';
import { AlreadyBuiltError, GitError } from '../../lib/domain/errors.ts';
import type { ActivityDeps } from '../deps.ts';
import { gitNetwork, gitRaw, withRepoLock } from '../git.ts';
import { successOwnsDirectory } from './claim.ts';
import { killLeftovers } from './process.ts';
import { currentActivity } from '../heartbeat.ts';
import { listWorkspaces, OWNER_FILE, type BuildWorkspace } from '../../lib/repo/workspaces.ts';

export interface Workspace {
  /** Absolute: the hashed directory (recreated empty), where logs and RPMs go. */
  outputDir: string;
  /** Absolute: a folder of this build's own (one per build workflow), removed when it ends. */
  root: string;
  /** The upstream tree at the commit (a git worktree), or null for the local driver. */
  sourceDir: string | null;
  /** The distgit tree at the distro commit (a plain copy; preprocess edits it). */
  distgitDir: string;
}

export const workspaceOf = (deps: ActivityDeps, job: BuildJob): Workspace => {
  const datadir = deps.config.default.datadir;
  const outputDir = join(datadir, outputDirOf(job));
  // Named by the source commit and the build's start, not the distro hash (koji's rhpkg mode
  // changes it mid-build): two builds of one commit never share it, a retried step finds it.
  const root = join(datadir, 'build', `${job.commit.projectName}-${job.commit.commitHash}-${job.dtBuild}`);
  return {
    outputDir,
    root,
    sourceDir: job.commit.repoDir ? join(root, 'source') : null,
    distgitDir: join(root, 'distgit'),
  };
};

const hasCommit = async (repo: string, hash: string): Promise<boolean> =>
  gitRaw(repo, ['cat-file', '-e', `${hash}^{commit}`]).then(
    () => true,
    () => false,
  );

/** Makes sure `repo` (cloned from `url` when missing) holds `hash`. */
const ensureCommit = async (
  repo: string,
  url: string | undefined,
  hash: string,
  stallSeconds: number,
): Promise<void> => {
  if (!existsSync(repo)) {
    if (!url) throw new GitError(`${repo} is missing and there is no URL to clone it from`);
    await gitNetwork(undefined, 'clone', ['--', url, repo], { url, stallSeconds }).catch((err: Error) => {
      throw new GitError(`cannot clone ${url}: ${err.message}`, { cause: err });
    });
  }
  if (await hasCommit(repo, hash)) return;
  await gitNetwork(repo, 'fetch', ['origin'], { url: url ?? repo, stallSeconds }).catch((err: Error) => {
    throw new GitError(`cannot fetch ${url ?? repo}: ${err.message}`, { cause: err });
  });
  if (!(await hasCommit(repo, hash))) throw new GitError(`commit ${hash} is not in ${repo}`);
};

/** `git archive <rev>:<path> | tar -x -C <dest>`: one tree of a repository, without .git. */
const exportTree = async (repo: string, rev: string, path: string, dest: string): Promise<void> => {
  await mkdir(dest, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const archive = spawn('git', ['archive', '--format=tar', `${rev}:${path}`], { cwd: repo });
    const tar = spawn('tar', ['-x', '-C', dest]);
    let stderr = '';
    archive.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    archive.stdout.pipe(tar.stdin);
    let pending = 2;
    const done = (what: string) => (code: number | null) => {
      if (code !== 0) reject(new GitError(`${what} of ${rev}:${path} in ${repo} failed: ${stderr.trim()}`));
      else if (--pending === 0) resolve();
    };
    archive.on('close', done('git archive'));
    tar.on('close', done('tar'));
  });
};

export const prepareSources = async (deps: ActivityDeps, job: BuildJob): Promise<Workspace> => {
  const ws = workspaceOf(deps, job);
  const { commit } = job;
  // The hashed directory is recreated empty, unless a finished build published it: then this
  // build is a duplicate and must not touch it (its RPMs are linked from later repositories).
  if (await successOwnsDirectory(deps, job))
    throw new AlreadyBuiltError(`${outputDirOf(job)} belongs to a successful build of ${commit.projectName}`);
  await rm(ws.outputDir, { recursive: true, force: true });
  await mkdir(ws.outputDir, { recursive: true });
  await rm(ws.root, { recursive: true, force: true });
  await mkdir(ws.root, { recursive: true });
  // Whose workspace this is: a build that ends without cleaning up (terminated) is found by it.
  const owner = currentActivity()?.info.workflowExecution?.workflowId;
  if (owner) await writeFile(join(ws.root, OWNER_FILE), `${owner}\n`);

  if (commit.repoDir && ws.sourceDir) {
    const upstream = Array.isArray(job.pkg.upstream)
      ? job.pkg.upstream.find((u) => basename(u).replace(/\.git$/, '') === basename(commit.repoDir ?? ''))
      : job.pkg.upstream;
    const repoDir = commit.repoDir;
    const sourceDir = ws.sourceDir;
    await withRepoLock(repoDir, async () => {
      await ensureCommit(repoDir, upstream, commit.commitHash, deps.config.git.stallTimeout);
      // --force: a registration left by a build that died is taken over (removeWorkspace prunes).
      await gitRaw(repoDir, ['worktree', 'add', '--force', '--detach', sourceDir, commit.commitHash]);
    });
    if (job.pkg.versionFrom) {
      // DLRN takes the version from another ref's tags through a fake merge.
      await simpleGit(ws.sourceDir)
        .env({
          ...process.env,
          GIT_AUTHOR_NAME: 'DLRN',
          GIT_AUTHOR_EMAIL: 'dlrn@localhost',
          GIT_COMMITTER_NAME: 'DLRN',
          GIT_COMMITTER_EMAIL: 'dlrn@localhost',
        })
        .raw(['merge', '-s', 'ours', '-m', '"fake merge tags"', job.pkg.versionFrom]);
    }
  }

  const distgit = commit.distroHash === 'dev' ? undefined : await gitLocation(commit.distgitDir);
  if (!distgit) {
    // Dev mode builds the distgit as it is on disk, local changes included.
    await cp(commit.distgitDir, ws.distgitDir, {
      recursive: true,
      filter: (src) => basename(src) !== '.git',
    });
  } else {
    const { top, prefix } = distgit;
    await withRepoLock(top, () =>
      ensureCommit(top, job.pkg.masterDistgit || undefined, commit.distroHash, deps.config.git.stallTimeout),
    );
    await exportTree(top, commit.distroHash, prefix.replace(/\/$/, ''), ws.distgitDir);
  }
  return ws;
};

/** The work tree `dir` is in, and `dir`'s path inside it; undefined outside any (one git call). */
const gitLocation = async (dir: string): Promise<{ top: string; prefix: string } | undefined> => {
  const out = await gitRaw(dir, [
    'rev-parse',
    '--is-inside-work-tree',
    '--show-toplevel',
    '--show-prefix',
  ]).catch(() => '');
  const [inside, top = '', prefix = ''] = out.split('\n');
  return inside === 'true' && top ? { top, prefix } : undefined;
};

/** Where a build's running tools are recorded (beside its workspace, which is recreated). */
export const pidDirOf = (deps: ActivityDeps, job: BuildJob): string => `${workspaceOf(deps, job).root}.pids`;

/**
 * Removes the build's workspace and its git worktree registration, after killing any tool of
 * the build still running (a build cancelled while its worker was dead left it behind).
 */
export const removeWorkspace = async (deps: ActivityDeps, job: BuildJob): Promise<void> => {
  const ws = workspaceOf(deps, job);
  await killLeftovers(pidDirOf(deps, job));
  await rm(ws.root, { recursive: true, force: true });
  await rm(pidDirOf(deps, job), { recursive: true, force: true });
  const repoDir = job.commit.repoDir;
  if (repoDir && existsSync(repoDir))
    await withRepoLock(repoDir, () => gitRaw(repoDir, ['worktree', 'prune']));
};

/**
 * A workspace no running build owns (its build was terminated, or cancelled while no worker
 * could clean up): its tools still running on this host are killed, then the folder, its pid
 * files and its worktree registration in the upstream clone go.
 */
const removeOrphan = async (ws: BuildWorkspace): Promise<void> => {
  await killLeftovers(`${ws.path}.pids`);
  // The worktree's .git file names the clone it belongs to: <clone>/.git/worktrees/<name>.
  const gitFile = await readFile(join(ws.path, 'source', '.git'), 'utf8').catch(() => '');
  const clone = /^gitdir: (.*)\/\.git\/worktrees\/[^/]+\s*$/m.exec(gitFile)?.[1];
  await rm(ws.path, { recursive: true, force: true });
  await rm(`${ws.path}.pids`, { recursive: true, force: true });
  if (clone && existsSync(clone)) await withRepoLock(clone, () => gitRaw(clone, ['worktree', 'prune']));
};

/**
 * The next run's sweep: every workspace whose owning build is not running is removed (one with
 * no owner recorded is left to dlrn-check's age rule). Returns the names removed.
 */
export const sweepOrphanWorkspaces = async (
  deps: ActivityDeps,
  isRunning: (workflowId: string) => Promise<boolean>,
): Promise<string[]> => {
  const removed: string[] = [];
  for (const ws of await listWorkspaces(deps.config.default.datadir)) {
    if (!ws.owner || (await isRunning(ws.owner))) continue;
    await removeOrphan(ws);
    removed.push(ws.name);
  }
  return removed;
};
