/**
 * The rdoinfo driver: packages from a distroinfo/rdoinfo repository (`--info-repo` checkout or
 * `[rdoinfo_driver] repo`), sources from their upstream git, specs from `master-distgit`.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { DlrnConfig } from '../../lib/config/index.ts';
import { InputError } from '../../lib/domain/errors.ts';
import type { PackageInfo } from '../../lib/domain/packages.ts';
import { readPackages } from '../../lib/pkginfo/distroinfo.ts';
import { refreshRepo } from '../git.ts';
import { refreshOptions, skippedOnError, sourceCandidates } from './common.ts';
import type { DriverRun, PkginfoDriver } from './types.ts';

interface InfoSource {
  repo: string | null;
  infoFiles: string[];
  cacheDir: string | null;
}

/** The local directory holding the info files: `--info-repo`, or a clone of `repo` in the cache. */
export const infoRoot = async (config: DlrnConfig, source: InfoSource, run: DriverRun): Promise<string> => {
  if (run.infoRepo) return run.infoRepo;
  if (!source.repo) {
    throw new InputError(
      'no package information: pass --info-repo or set repo in the driver section of projects.ini',
    );
  }
  const cache = source.cacheDir ?? join(config.default.datadir, '.distroinfo');
  const dir = join(cache, createHash('sha256').update(source.repo).digest('hex').slice(0, 16));
  await refreshRepo(
    source.repo,
    dir,
    'master',
    refreshOptions(config, run, { nonfallbackBranches: [], source: 'master' }),
  );
  return dir;
};

export const distgitPathOf = (datadir: string, pkg: PackageInfo): string =>
  `${join(datadir, `${pkg.name}_distro`)}/${(pkg.distgitPath ?? '').replace(/^\/+/, '')}`;

export const createRdoinfoDriver = (config: DlrnConfig, source: InfoSource): PkginfoDriver => ({
  getPackages: async (run) =>
    readPackages(await infoRoot(config, source, run), source.infoFiles, config.default.tags),
  distgitDir: (pkg) => distgitPathOf(config.default.datadir, pkg),
  getInfo: (pkg, window, run, type) =>
    skippedOnError(async () => {
      const clone = join(config.default.datadir, `${pkg.name}_distro`);
      const dir = distgitPathOf(config.default.datadir, pkg);
      const branch = pkg.distroBranch ?? config.default.distro ?? 'master';
      let distgit = { hash: 'dev', time: 0, dir };
      if (run.dev) {
        // Dev mode keeps local distgit changes: clone only when missing.
        await refreshRepo(pkg.masterDistgit, clone, branch, refreshOptions(config, { ...run, local: true }));
      } else {
        const refreshed = await refreshRepo(pkg.masterDistgit, clone, branch, {
          ...refreshOptions(config, run),
          ...(pkg.distgitPath ? { fullPath: dir } : {}),
        });
        distgit = { hash: refreshed.head, time: refreshed.time, dir };
      }
      return { commits: await sourceCandidates(config, pkg, window, run, type, distgit), skipped: false };
    }),
});
