/**
 * Git with simple-git, as DLRN's `refreshrepo` and `getinfo` use it (dlrn-spec §4.4, §6.2):
 * clone or refresh a repository at a branch with DLRN's fallback rules, and list commits.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { withLockDir } from '../lib/lock.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import { fallbackRefs, type FallbackRules } from '../lib/domain/branches.ts';
import { GitError } from '../lib/domain/errors.ts';

export interface RefreshOptions extends FallbackRules {
  /** `--local`: use an existing checkout as it is; clone only when missing. */
  local: boolean;
  /** Run the branch commands here (a distgit subdirectory) instead of the clone's root. */
  fullPath?: string;
}

interface RefreshResult {
  /** The branch actually checked out, after any fallback. */
  branch: string;
  head: string;
  /** Committer time of HEAD, epoch seconds. */
  time: number;
}

/**
 * Runs one git command in `dir` and answers its output; fails with git's own message. The
 * commands of discovery and of every build go through here rather than simple-git: simple-git
 * waits 50 ms after each command that prints nothing (its completion detection), which made a
 * build's eight silent git commands cost 400 ms and discovery of 2,000 packages minutes.
 * simple-git keeps what it does well: clones and reading remotes.
 */
export const gitRaw = async (dir: string, args: string[]): Promise<string> => {
  try {
    const { stdout } = await runFile('git', ['-c', 'advice.detachedHead=false', ...args], {
      cwd: dir,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(stderr || (err instanceof Error ? err.message : String(err)), { cause: err });
  }
};

const git = (dir: string) => ({ raw: (args: string[]) => gitRaw(dir, args) });
type Git = ReturnType<typeof git>;

const runFile = promisify(execFile);

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).trim();

const headOf = async (dir: string): Promise<{ head: string; time: number }> => {
  const out = await git(dir).raw(['log', '--pretty=format:%H %ct', '-1', 'HEAD']);
  const [head = '', time = '0'] = out.trim().split(' ');
  return { head, time: Number(time) };
};

const sameUrl = (a: string, b: string): boolean => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/**
 * Runs `work` holding the clone at `path` for this process alone: two runs (or a run and a
 * build fetching a missing commit) never clone, fetch or check out the same directory at once.
 * The lock is a directory beside the clone, refreshed while held, taken over when stale.
 */
export const withRepoLock = <T>(path: string, work: () => Promise<T>): Promise<T> =>
  withLockDir(path, { lockPath: `${path}.dlrn-lock`, staleMs: 60_000 }, work);

/**
 * Clones `url` into `path` or refreshes it, checks out `branch` (falling back as DLRN does),
 * and returns the branch used and HEAD. Throws GitError with git's own message.
 */
export const refreshRepo = (
  url: string,
  path: string,
  branch: string,
  options: RefreshOptions,
): Promise<RefreshResult> => withRepoLock(path, () => refreshUnlocked(url, path, branch, options));

/**
 * A clone of `url` at `path` that can be refreshed: an existing one whose origin is `url`, or a
 * new one (DLRN clones afresh when the URL changed or the checkout is broken). A new clone is made
 * on `branch` when it exists (`onBranch`: nothing left to check out); else on the default branch.
 */
const ensureClone = async (
  url: string,
  path: string,
  branch: string,
  local: boolean,
): Promise<{ cloned: boolean; onBranch: boolean }> => {
  if (existsSync(path) && !local) {
    const remotes = await simpleGit(path)
      .getRemotes(true)
      .catch(() => []);
    if (!remotes.some((r) => sameUrl(r.refs.fetch, url))) await rm(path, { recursive: true, force: true });
  }
  if (existsSync(path)) return { cloned: false, onBranch: false };
  try {
    await simpleGit().clone(url, path, ['--branch', branch]);
    return { cloned: true, onBranch: true };
  } catch {
    // No such branch (a fallback follows), or the clone failed: its own error says which.
    await rm(path, { recursive: true, force: true });
  }
  try {
    await simpleGit().clone(url, path);
  } catch (err) {
    throw new GitError(`cannot clone ${url}: ${message(err)}`, { cause: err });
  }
  return { cloned: true, onBranch: false };
};

/**
 * `git fetch --prune` of an existing clone (a clone that cannot be fetched is removed, so the
 * next run clones afresh); a local branch whose upstream is gone is dropped.
 */
const fetchClone = async (repo: Git, url: string, path: string, branch: string): Promise<void> => {
  try {
    await repo.raw(['fetch', '--prune', 'origin']);
  } catch (err) {
    await rm(path, { recursive: true, force: true });
    throw new GitError(`cannot fetch ${url}: ${message(err)}`, { cause: err });
  }
  const tracking = await repo.raw(['branch', '-vv']);
  if (new RegExp(`\\[origin/${branch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: gone\\]`).test(tracking)) {
    await repo.raw(['checkout', '--detach', 'HEAD']);
    await repo.raw(['branch', '-D', branch]);
  }
};

/** Checks out `branch`, else the first of its fallback refs that exists; the ref checked out. */
const checkoutWithFallback = async (
  repo: Git,
  url: string,
  branch: string,
  options: RefreshOptions,
): Promise<string> => {
  try {
    await repo.raw(['checkout', '-f', branch]);
    return branch;
  } catch (err) {
    const fallback = fallbackRefs(branch, options);
    if (fallback.kind === 'none')
      throw new GitError(`${url}: ${fallback.reason}: ${message(err)}`, { cause: err });
    for (const ref of fallback.refs) {
      try {
        await repo.raw(['checkout', '-f', ref]);
        return ref;
      } catch {
        // try the next ref
      }
    }
    throw new GitError(`${url}: branch ${branch} does not exist, nor ${fallback.refs.join(', ')}`, {
      cause: err,
    });
  }
};

const refreshUnlocked = async (
  url: string,
  path: string,
  branch: string,
  options: RefreshOptions,
): Promise<RefreshResult> => {
  const { cloned, onBranch } = await ensureClone(url, path, branch, options.local);
  const dir = options.fullPath ?? path;
  if ((options.local && !cloned) || onBranch) return { branch, ...(await headOf(dir)) };
  const repo = git(dir);
  // A clone made just now is fetched and has no stale branch to drop.
  if (!cloned) await fetchClone(repo, url, path, branch);
  const used = await checkoutWithFallback(repo, url, branch, options);
  try {
    await repo.raw(['reset', '--hard', `origin/${used}`]);
  } catch {
    // Tags, hashes and remote refs have no origin/<ref>.
    await repo.raw(['reset', '--hard', used]);
  }
  return { branch: used, ...(await headOf(dir)) };
};

interface GitCommit {
  hash: string;
  /** Committer time, epoch seconds. */
  time: number;
}

/**
 * Commits of the checked-out branch, oldest first, following first parents. `after` limits to
 * commits since that time; null asks for the newest only. `tagsOnly` keeps tagged commits.
 */
export const listCommits = async (
  dir: string,
  after: number | null,
  options: { tagsOnly?: boolean; path?: string } = {},
): Promise<GitCommit[]> => {
  const window = after === null ? [options.tagsOnly ? '-2' : '-1'] : [`--after=${after}`];
  const args = options.tagsOnly
    ? [
        'log',
        '--simplify-by-decoration',
        '--pretty=format:%ct %H %d',
        ...window,
        '--first-parent',
        '--reverse',
        'HEAD',
      ]
    : ['log', '--pretty=format:%ct %H', ...window, '--first-parent', '--reverse'];
  if (options.path) args.push('--', options.path);
  const out = await git(dir).raw(args);
  return out
    .split('\n')
    .filter((line) => line.trim() !== '' && (!options.tagsOnly || line.includes('tag: ')))
    .map((line) => {
      const [time = '0', hash = ''] = line.trim().split(/\s+/);
      return { hash, time: Number(time) };
    });
};

/** The newest commit touching `path` inside a repository (distgit dirs of a monorepo). */
export const lastCommitOf = async (dir: string, path = '.'): Promise<GitCommit> => {
  const out = await git(dir).raw(['log', '-1', '--pretty=format:%ct %H', '--', path]);
  const [time = '0', hash = ''] = out.trim().split(/\s+/);
  if (!hash) throw new GitError(`no commit touches ${path} in ${dir}`);
  return { hash, time: Number(time) };
};
