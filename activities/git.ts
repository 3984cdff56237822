/**
 * Git with simple-git, as DLRN's `refreshrepo` and `getinfo` use it (dlrn-spec §4.4, §6.2):
 * clone or refresh a repository at a branch with DLRN's fallback rules, and list commits.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { withLockDir } from '../lib/lock.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import { fallbackRefs, type FallbackRules } from '../lib/domain/branches.ts';
import { GitError } from '../lib/domain/errors.ts';
import { killProcessGroup, trackGroup } from './process-groups.ts';

export interface RefreshOptions extends FallbackRules {
  /** `--local`: use an existing checkout as it is; clone only when missing. */
  local: boolean;
  /** `[git] stall_timeout`: seconds a clone or fetch may go without progress. */
  stallSeconds: number;
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

/** A clone or fetch that waits on a server, for the run's progress ("waiting on git for ..."). */
export interface GitWait {
  op: 'clone' | 'fetch';
  url: string;
  /** Epoch milliseconds it started. */
  since: number;
}

const waitScope = new AsyncLocalStorage<(wait: GitWait | undefined) => void>();

/** Runs `work` with `onWait` told when each clone or fetch in it starts (a wait) and ends. */
export const watchingGit = <T>(
  onWait: (wait: GitWait | undefined) => void,
  work: () => Promise<T>,
): Promise<T> => waitScope.run(onWait, work);

/** git's words (or ours) for a server that stopped answering, rather than one that said no. */
const isStall = (text: string): boolean =>
  /^no answer from the server|Operation too slow|Connection timed out|timed out/i.test(text);

/** The last line git wrote that says something (not its progress counters). */
const lastWords = (stderr: string): string =>
  stderr
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter(
      (l) =>
        l !== '' &&
        !/^(Cloning into|remote: (Counting|Compressing|Enumerating|Total)|Receiving|Resolving|Updating files)/.test(
          l,
        ),
    )
    .at(-1) ?? '';

/**
 * `git clone` or `git fetch`, which wait on a server, bounded: with progress on (so a transfer
 * that moves is never taken for a stall), https giving up below 1000 bytes a second for the
 * stall time and ssh's connection and keep-alive bounded the same (git's own words then), no
 * prompt for credentials, and a watchdog that kills git's whole process group when it writes
 * nothing for longer than that (git:// has no timeout of its own). Fails with git's message.
 */
export const gitNetwork = (
  cwd: string | undefined,
  op: 'clone' | 'fetch',
  args: string[],
  options: { url: string; stallSeconds: number },
): Promise<string> =>
  new Promise((resolvePromise, reject) => {
    const stall = options.stallSeconds;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GIT_TERMINAL_PROMPT: '0',
      GIT_HTTP_LOW_SPEED_LIMIT: '1000',
      GIT_HTTP_LOW_SPEED_TIME: String(stall),
      GIT_SSH_COMMAND:
        process.env.GIT_SSH_COMMAND ??
        `ssh -o BatchMode=yes -o ConnectTimeout=${stall} -o ServerAliveInterval=${Math.max(1, Math.ceil(stall / 3))} -o ServerAliveCountMax=3`,
    };
    const child = spawn('git', ['-c', 'advice.detachedHead=false', op, '--progress', ...args], {
      ...(cwd ? { cwd } : {}),
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const untrack = trackGroup(child.pid);
    const onWait = waitScope.getStore();
    onWait?.({ op, url: options.url, since: Date.now() });
    let stdout = '';
    let stderr = '';
    let stalled = false;
    let watchdog: NodeJS.Timeout;
    // A few seconds past git's own bound, so git's words come first when it has them.
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(
        () => {
          stalled = true;
          killProcessGroup(child.pid);
        },
        (stall + 5) * 1000,
      );
    };
    arm();
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      arm();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-16_384);
      arm();
    });
    const finish = () => {
      clearTimeout(watchdog);
      untrack();
      onWait?.(undefined);
    };
    child.on('error', (err) => {
      finish();
      reject(err);
    });
    child.on('close', (code) => {
      finish();
      if (code === 0 && !stalled) return resolvePromise(stdout);
      const said = lastWords(stderr);
      if (stalled)
        return reject(
          new Error(
            `no answer from the server for ${stall} s ([git] stall_timeout)${said ? `; git said: ${said}` : ''}`,
          ),
        );
      reject(new Error(said || `git ${op} exited with code ${code ?? 'none'}`));
    });
  });

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
  { local, stallSeconds }: Pick<RefreshOptions, 'local' | 'stallSeconds'>,
): Promise<{ cloned: boolean; onBranch: boolean }> => {
  if (existsSync(path) && !local) {
    const remotes = await simpleGit(path)
      .getRemotes(true)
      .catch(() => []);
    if (!remotes.some((r) => sameUrl(r.refs.fetch, url))) await rm(path, { recursive: true, force: true });
  }
  if (existsSync(path)) return { cloned: false, onBranch: false };
  const bound = { url, stallSeconds };
  try {
    await gitNetwork(undefined, 'clone', ['--branch', branch, '--', url, path], bound);
    return { cloned: true, onBranch: true };
  } catch (err) {
    await rm(path, { recursive: true, force: true });
    // A server that does not answer does not answer the second clone either.
    if (isStall(message(err))) throw new GitError(`cannot clone ${url}: ${message(err)}`, { cause: err });
    // Else: no such branch (a fallback follows), or the clone failed: its own error says which.
  }
  try {
    await gitNetwork(undefined, 'clone', ['--', url, path], bound);
  } catch (err) {
    await rm(path, { recursive: true, force: true });
    throw new GitError(`cannot clone ${url}: ${message(err)}`, { cause: err });
  }
  return { cloned: true, onBranch: false };
};

/**
 * `git fetch --prune` of an existing clone (a clone that cannot be fetched is removed, so the
 * next run clones afresh, as DLRN does; one whose server did not answer is kept for the next
 * run to fetch again); a local branch whose upstream is gone is dropped.
 */
const fetchClone = async (
  repo: Git,
  url: string,
  path: string,
  branch: string,
  stallSeconds: number,
): Promise<void> => {
  try {
    await gitNetwork(path, 'fetch', ['--prune', 'origin'], { url, stallSeconds });
  } catch (err) {
    if (!message(err).startsWith('no answer from the server'))
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
  const { cloned, onBranch } = await ensureClone(url, path, branch, options);
  const dir = options.fullPath ?? path;
  if ((options.local && !cloned) || onBranch) return { branch, ...(await headOf(dir)) };
  const repo = git(dir);
  // A clone made just now is fetched and has no stale branch to drop.
  if (!cloned) await fetchClone(repo, url, path, branch, options.stallSeconds);
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
