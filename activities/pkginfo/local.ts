/**
 * The local driver: the directory `dlrn` runs in is a git repository with a spec; it is built
 * as it is, once per distgit commit (dlrn-spec §6.5).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DlrnConfig } from '../../lib/config/index.ts';
import { InputError } from '../../lib/domain/errors.ts';
import { lastCommitOf } from '../git.ts';
import { skippedOnError } from './common.ts';
import type { PackageInfo } from '../../lib/domain/packages.ts';
import type { PkginfoDriver } from './types.ts';

const run = promisify(execFile);

/** `Version:` of a spec, through rpmspec when it can expand macros, else as written. */
const specVersion = async (spec: string): Promise<string> => {
  try {
    const { stdout } = await run('rpmspec', ['-q', '--srpm', '--qf', '%{version}', spec]);
    if (stdout.trim()) return stdout.trim();
  } catch {
    // fall back to the literal tag
  }
  const version = /^Version:\s*(\S+)/m.exec(await readFile(spec, 'utf8'))?.[1];
  if (!version) throw new InputError(`${spec} has no Version: tag`);
  return version;
};

export const createLocalDriver = (config: DlrnConfig): PkginfoDriver => ({
  getPackages: async (driverRun) => {
    const cwd = driverRun.cwd;
    if (!existsSync(join(cwd, '.git')))
      throw new InputError(`the local driver builds a git repository; ${cwd} is not one`);
    const spec = (await readdir(cwd)).find((f) => f.endsWith('.spec'));
    if (!spec) throw new InputError(`the local driver needs a .spec file in ${cwd}`);
    const name = spec.replace(/\.spec$/, '');
    const version = await specVersion(join(cwd, spec));
    const copy = join(config.default.datadir, name);
    await rm(copy, { recursive: true, force: true });
    await cp(cwd, copy, { recursive: true, filter: (src) => !src.startsWith(`${config.default.datadir}/`) });
    const pkg: PackageInfo = {
      name,
      project: name,
      upstream: 'Unknown',
      masterDistgit: copy,
      maintainers: ['test@example.com'],
      sourceBranch: version,
      types: ['rpm'],
      extra: { version },
    };
    return { packages: [pkg], warnings: [] };
  },
  distgitDir: (pkg) => join(config.default.datadir, pkg.name),
  getInfo: (pkg, _window, _run, type) =>
    skippedOnError(async () => {
      const dir = join(config.default.datadir, pkg.name);
      const last = await lastCommitOf(dir, '.');
      const version = pkg.extra.version ?? pkg.sourceBranch ?? '';
      return {
        skipped: false,
        commits: [
          {
            projectName: pkg.name,
            type,
            commitHash: `${pkg.name}-${version}`,
            distroHash: last.hash,
            extendedHash: null,
            dtCommit: 0,
            dtDistro: last.time,
            dtExtended: 0,
            commitBranch: version,
            repoDir: null,
            distgitDir: dir,
            component: null,
            versionsCsv: null,
          },
        ],
      };
    }),
});
