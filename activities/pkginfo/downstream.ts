/**
 * The downstream driver: packages as in rdoinfo, but each builds exactly the source and
 * distgit commits an upstream DLRN published in its versions.csv, combined with a downstream
 * distgit (and source) whose commits form the extended hash (dlrn-spec §6.3).
 */
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import type { DlrnConfig } from '../../lib/config/index.ts';
import { InputError } from '../../lib/domain/errors.ts';
import type { CommitCandidate, CommitType, PackageInfo } from '../../lib/domain/packages.ts';
import { readPackages } from '../../lib/pkginfo/distroinfo.ts';
import { refreshRepo } from '../git.ts';
import { refreshOptions, skippedOnError, sourceDirs } from './common.ts';
import { distgitPathOf, infoRoot } from './rdoinfo.ts';
import type { DriverRun, PkginfoDriver } from './types.ts';

/**
 * `use_upstream_spec`: the upstream distgit's files (not hidden ones) are copied over the
 * downstream distgit, `downstream_spec_replace_list` rules (`regex/replacement`) rewrite the
 * specs line by line, and with `keep_changelog` the downstream `%changelog` is kept.
 */
export const setupDownstreamDistgit = async (
  downstreamDir: string,
  upstreamDir: string,
  rules: readonly string[],
  keepChangelog: boolean,
): Promise<void> => {
  const specs = async () => (await readdir(downstreamDir)).filter((f) => f.endsWith('.spec'));
  const changelogs = new Map<string, string>();
  if (keepChangelog) {
    for (const spec of await specs()) {
      const match = /^%changelog[\s\S]*/m.exec(await readFile(join(downstreamDir, spec), 'utf8'));
      if (match) changelogs.set(spec, match[0]);
    }
  }
  for (const entry of await readdir(upstreamDir, { withFileTypes: true })) {
    if (entry.isFile() && !entry.name.startsWith('.'))
      await copyFile(join(upstreamDir, entry.name), join(downstreamDir, entry.name));
  }
  const compiled = rules.map((rule) => {
    const [source = '', replacement = ''] = rule.split('/');
    // Python's \1 group references become JavaScript's $1.
    return { re: new RegExp(source, 'g'), to: replacement.replace(/\\(\d)/g, '$$$1') };
  });
  for (const spec of await specs()) {
    const path = join(downstreamDir, spec);
    let text = (await readFile(path, 'utf8'))
      .split(/(?<=\n)/)
      .map((line) => compiled.reduce((acc, { re, to }) => acc.replace(re, to), line))
      .join('');
    const saved = changelogs.get(spec);
    if (saved !== undefined) text = text.replace(/^%changelog[\s\S]*/m, saved);
    await writeFile(path, text);
  }
};

interface DownstreamOptions {
  repo: string | null;
  infoFiles: string[];
  versionsUrl: string[];
  downstreamDistroBranch: string | null;
  downstreamTag: string | null;
  downstreamDistgitKey: string | null;
  downstreamSourceGitKey: string | null;
  downstreamSourceGitBranch: string | null;
  useUpstreamSpec: boolean;
  downstreamSpecReplaceList: string[];
  cacheDir: string | null;
}

/** One row of a versions.csv, keyed by its header. */
interface VersionsRow {
  Project: string;
  'Source Repo': string;
  'Source Sha': string;
  'Dist Repo': string;
  'Dist Sha': string;
  Status: string;
  'Last Success Timestamp': string;
  Component: string;
  'Extended Sha': string;
  'Pkg NVR': string;
  /** The versions.csv it came from. */
  url: string;
}

const readUrl = async (url: string): Promise<string> => {
  if (url.startsWith('file://')) return readFile(fileURLToPath(url), 'utf8');
  if (url.startsWith('/')) return readFile(url, 'utf8');
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new InputError(`cannot fetch ${url}: HTTP ${response.status}`);
  return response.text();
};

/** All versions.csv files of `versions_url`, later files winning per project. */
const readVersions = async (urls: readonly string[]): Promise<Map<string, VersionsRow>> => {
  const out = new Map<string, VersionsRow>();
  for (const url of urls) {
    let text: string;
    try {
      text = await readUrl(url);
    } catch (err) {
      throw new InputError(`cannot read versions_url ${url}: ${(err as Error).message}`, { cause: err });
    }
    const rows = parse(text, { columns: true, skip_empty_lines: true, relax_column_count: true }) as Omit<
      VersionsRow,
      'url'
    >[];
    for (const row of rows) out.set(row.Project, { ...row, url });
  }
  return out;
};

/**
 * The downstream repositories of a package, refreshed (not in `--dev`): its distgit at
 * `downstream_distro_branch`, its downstream source when `downstream_source_git_key` names one,
 * and the upstream distgit at the commit upstream DLRN built. The extended hash is the
 * downstream distgit's head, with the downstream source's head after `_` when there is one.
 */
const refreshDownstream = async (
  config: DlrnConfig,
  options: DownstreamOptions,
  pkg: PackageInfo,
  row: VersionsRow,
  run: DriverRun,
): Promise<{ extendedHash: string; dtExtended: number }> => {
  const distgitKey = options.downstreamDistgitKey ?? 'distgit';
  const distgitUrl = pkg.extra[distgitKey];
  if (!distgitUrl)
    throw new InputError(`package ${pkg.name} has no "${distgitKey}" key for its downstream distgit`);
  if (run.dev) return { extendedHash: 'dev', dtExtended: 0 };
  const datadir = config.default.datadir;
  const refresh = refreshOptions(config, run);
  const downstream = await refreshRepo(
    distgitUrl,
    join(datadir, `${pkg.name}_distro`),
    options.downstreamDistroBranch ?? 'master',
    refresh,
  );
  let extendedHash = downstream.head;
  const sourceUrl = options.downstreamSourceGitKey ? pkg.extra[options.downstreamSourceGitKey] : undefined;
  if (sourceUrl) {
    const source = await refreshRepo(
      sourceUrl,
      join(datadir, `${pkg.name}_downstream`),
      options.downstreamSourceGitBranch ?? 'master',
      refresh,
    );
    extendedHash = `${downstream.head}_${source.head}`;
  }
  await refreshRepo(pkg.masterDistgit, join(datadir, `${pkg.name}_distro_upstream`), row['Dist Sha'], {
    ...refresh,
    nonfallbackBranches: ['.*'],
  });
  return { extendedHash, dtExtended: downstream.time };
};

/**
 * The one commit of a package the downstream driver builds: upstream's source and distgit
 * hashes from versions.csv (in `--local`, the source clone's head instead), with the downstream
 * extended hash; with `use_upstream_spec`, the downstream distgit gets upstream's spec first.
 */
const downstreamCommit = async (
  config: DlrnConfig,
  options: DownstreamOptions,
  pkg: PackageInfo,
  row: VersionsRow,
  run: DriverRun,
  type: CommitType,
): Promise<CommitCandidate> => {
  const datadir = config.default.datadir;
  const { extendedHash, dtExtended } = await refreshDownstream(config, options, pkg, row, run);
  const [{ url, dir } = { url: '', dir: join(datadir, pkg.name) }] = sourceDirs(datadir, pkg);
  const refreshed = await refreshRepo(
    url,
    dir,
    pkg.sourceBranch ?? config.default.source ?? 'master',
    refreshOptions(config, run),
  );
  const dtCommit = run.local ? refreshed.time : Number(row['Last Success Timestamp']);
  if (!Number.isFinite(dtCommit))
    throw new InputError(
      `${pkg.name}: "Last Success Timestamp" in ${row.url} is "${row['Last Success Timestamp']}", not a number`,
    );
  if (options.useUpstreamSpec && !run.dev) {
    const upstreamDistgit = `${join(datadir, `${pkg.name}_distro_upstream`)}/${(pkg.distgitPath ?? '').replace(/^\/+/, '')}`;
    await setupDownstreamDistgit(
      distgitPathOf(datadir, pkg),
      upstreamDistgit,
      options.downstreamSpecReplaceList,
      config.default.keepChangelog,
    );
  }
  return {
    projectName: pkg.name,
    type,
    commitHash: run.local ? refreshed.head : row['Source Sha'],
    distroHash: run.dev ? 'dev' : row['Dist Sha'],
    extendedHash,
    dtCommit,
    dtDistro: 0,
    dtExtended,
    commitBranch: refreshed.branch,
    repoDir: dir,
    distgitDir: distgitPathOf(datadir, pkg),
    component: config.default.useComponents ? (pkg.component ?? null) : null,
    versionsCsv: row.url,
  };
};

export const createDownstreamDriver = (config: DlrnConfig, options: DownstreamOptions): PkginfoDriver => {
  let versions: Promise<Map<string, VersionsRow>> | undefined;
  const versionsOnce = () => (versions ??= readVersions(options.versionsUrl));
  return {
    getPackages: async (run) => {
      if (!run.infoRepo && !options.repo)
        throw new InputError("Missing required config option 'repo' in [downstream_driver]");
      const root = await infoRoot(config, options, run);
      return readPackages(root, options.infoFiles, config.default.tags, options.downstreamTag);
    },
    distgitDir: (pkg) => distgitPathOf(config.default.datadir, pkg),
    getInfo: (pkg: PackageInfo, _window, run, type) =>
      skippedOnError(async () => {
        const row = (await versionsOnce()).get(pkg.name);
        if (!row)
          return {
            commits: [],
            skipped: true,
            error: `${pkg.name} is not in ${options.versionsUrl.join(', ')}`,
          };
        return { skipped: false, commits: [await downstreamCommit(config, options, pkg, row, run, type)] };
      }),
  };
};
