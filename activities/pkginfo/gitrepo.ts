/**
 * The gitrepo driver: one git repository with a directory per package (OpenStack's
 * rpm-packaging style). Package metadata comes from the directory names; the distro hash of a
 * package is the last commit touching its directory.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleGit } from 'simple-git';
import type { DlrnConfig } from '../../lib/config/index.ts';
import { GitError, InputError } from '../../lib/domain/errors.ts';
import type { PackageInfo } from '../../lib/domain/packages.ts';
import { gitNetwork, lastCommitOf } from '../git.ts';
import { skippedOnError, sourceCandidates } from './common.ts';
import type { DriverRun, PkginfoDriver } from './types.ts';

interface GitrepoOptions {
  repo: string | null;
  directories: string[];
  skipDirs: string[];
  useVersionFromSpec: boolean;
  upstreamUrls: string[];
}

const infoDir = (config: DlrnConfig) => join(config.default.datadir, 'package_info');

/** Clone the packaging repo if missing; unless in dev mode, reset it to the distro branch. */
const refreshPackaging = async (
  config: DlrnConfig,
  options: GitrepoOptions,
  run: DriverRun,
): Promise<string> => {
  const dir = infoDir(config);
  if (!options.repo) throw new InputError('[gitrepo_driver] repo is not set');
  try {
    const bound = { url: options.repo, stallSeconds: config.git.stallTimeout };
    if (!existsSync(dir)) await gitNetwork(undefined, 'clone', ['--', options.repo, dir], bound);
    if (!run.dev && !run.local) {
      const git = simpleGit(dir);
      await gitNetwork(dir, 'fetch', ['origin'], bound);
      const branch = config.default.distro ?? 'master';
      await git
        .raw(['reset', '--hard', `origin/${branch}`])
        .catch(() => git.raw(['reset', '--hard', 'origin/master']));
    }
  } catch (err) {
    throw new GitError(`cannot refresh ${options.repo}: ${(err as Error).message.trim()}`, { cause: err });
  }
  return dir;
};

/** The upstream version a spec template pins, for `use_version_from_spec`. */
const versionFromSpec = (text: string): string | undefined => {
  const pinned = /set\s+upstream_version\s*=\s*['"]([^'"]+)['"]/.exec(text)?.[1];
  if (pinned) return pinned;
  const version = /^Version:\s*(\S+)/m.exec(text)?.[1];
  return version && !version.includes('{{') && !version.includes('%') ? version.replace(/~/g, '') : undefined;
};

/** The first upstream location that exists: `file://` and paths by the file system, HTTP by a 2xx/3xx. */
const findUpstream = async (templates: readonly string[], module: string): Promise<string | undefined> => {
  for (const template of templates) {
    const url = template.replaceAll('{module}', module);
    if (url.startsWith('file://')) {
      if (existsSync(fileURLToPath(url))) return url;
    } else if (url.startsWith('/')) {
      if (existsSync(url)) return url;
    } else {
      const ok = await fetch(url, {
        method: 'HEAD',
        redirect: 'manual',
        signal: AbortSignal.timeout(10_000),
      }).then(
        (r) => r.status < 400,
        () => false,
      );
      if (ok) return url;
    }
  }
  return undefined;
};

export const createGitrepoDriver = (config: DlrnConfig, options: GitrepoOptions): PkginfoDriver => {
  const packageDir = (pkg: PackageInfo): string => {
    for (const directory of options.directories) {
      const dir = join(infoDir(config), directory, pkg.name);
      if (existsSync(dir)) return dir;
    }
    return join(infoDir(config), options.directories[0] ?? '', pkg.name);
  };
  return {
    getPackages: async (run) => {
      const root = await refreshPackaging(config, options, run);
      const packages: PackageInfo[] = [];
      for (const directory of options.directories) {
        const base = join(root, directory);
        const entries = await readdir(base, { withFileTypes: true }).catch(() => {
          throw new InputError(
            `[gitrepo_driver] directory ${directory} does not exist in ${options.repo ?? ''}`,
          );
        });
        for (const entry of entries
          .filter((e) => e.isDirectory())
          .sort((a, b) => a.name.localeCompare(b.name))) {
          if (options.skipDirs.includes(entry.name) || entry.name.startsWith('.')) continue;
          const pkg: PackageInfo = {
            name: entry.name,
            project: entry.name,
            upstream: 'Unknown',
            masterDistgit: `${options.repo ?? ''}/${directory.replace(/^\/+/, '')}/${entry.name}`,
            maintainers: ['test@example.com'],
            types: ['rpm'],
            extra: {},
          };
          if (options.useVersionFromSpec) {
            const files = await readdir(join(base, entry.name));
            const spec = files.find((f) => f.endsWith('.spec.j2')) ?? files.find((f) => f.endsWith('.spec'));
            const version = spec
              ? versionFromSpec(await readFile(join(base, entry.name, spec), 'utf8'))
              : undefined;
            if (version) pkg.sourceBranch = version;
          }
          packages.push(pkg);
        }
      }
      return { packages, warnings: [] };
    },
    distgitDir: packageDir,
    getInfo: (pkg, window, run, type) =>
      skippedOnError(async () => {
        let upstream = pkg;
        if (pkg.upstream === 'Unknown') {
          const found = await findUpstream(options.upstreamUrls, pkg.name);
          if (!found)
            return { commits: [], skipped: true, error: `no upstream repository found for ${pkg.name}` };
          upstream = { ...pkg, upstream: found };
        }
        const dir = packageDir(pkg);
        const distgit = run.dev ? { hash: 'dev', time: 0, dir } : { ...(await lastCommitOf(dir, '.')), dir };
        return {
          commits: await sourceCandidates(config, upstream, window, run, type, distgit),
          skipped: false,
        };
      }),
  };
};
