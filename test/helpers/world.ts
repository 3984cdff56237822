/**
 * The site the build tests run on: packages as real git repositories (an upstream, tagged, and a
 * distgit on rpm-master), an rdoinfo repository listing them, a datadir and a SQLite database,
 * in a folder of the test file's own. One recipe for every build test, so they set a site up
 * alike and the fixture is fixed in one place.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type DlrnConfig } from '../../lib/config/index.ts';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { commitFiles, createRepo, tag } from '../../scripts/demo/git-repo.ts';
import { demoSpec } from '../../scripts/make-demo.ts';

/** The fixture's clock: every commit is made some seconds after this (2025-01-01). */
export const T0 = 1_735_689_600;

/** An upstream build.sh that builds: the demo spec's %build runs it. */
export const BUILD_OK = '#!/bin/sh\nmkdir -p share\ncp README share/\n';

export interface World {
  config: DlrnConfig;
  db: Database;
  datadir: string;
  /** The world's folder: upstream/, distgit/, info/, data/ and commits.sqlite. */
  dir: string;
}

export interface FixturePackage {
  name: string;
  /** The upstream's build.sh (BUILD_OK unless given). */
  buildScript?: string;
  /** The tag on the upstream's first commit. */
  tag: string;
  /** Seconds after T0 of the upstream's first commit (0). */
  upstreamAt?: number;
  /** Files of one more upstream commit, a minute after T0, so the version is the tag's next. */
  afterTag?: Record<string, string>;
  /** The distgit's files. */
  distgit: Record<string, string>;
  /** Seconds after T0 of the distgit's commit. */
  distgitAt: number;
  /** The package's rdoinfo component. */
  component?: string;
}

/** The demo spec of a package of the fixture, as its distgit's one file. */
export const demoDistgit = (name: string, summary = name, changes = 0): Record<string, string> => ({
  [`${name}.spec`]: demoSpec({ name, requires: [], summary, changes, component: 'base' }),
});

const infoYaml = (dir: string, packages: readonly FixturePackage[]): string =>
  `package-default:\n  name: '%(project)s'\n  upstream: ${dir}/upstream/%(project)s\n` +
  `  master-distgit: ${dir}/distgit/%(project)s-distgit\n  maintainers: [t@example.com]\npackages:\n` +
  packages.map((p) => `- project: ${p.name}\n${p.component ? `  component: ${p.component}\n` : ''}`).join('');

/** The git repositories of `packages` and the rdoinfo repository listing them, under `dir`. */
const createRepos = async (dir: string, packages: readonly FixturePackage[]): Promise<void> => {
  for (const p of packages) {
    const upstream = join(dir, 'upstream', p.name);
    await createRepo(
      upstream,
      { README: `${p.name}\n`, 'build.sh': p.buildScript ?? BUILD_OK },
      T0 + (p.upstreamAt ?? 0),
    );
    await tag(upstream, p.tag);
    if (p.afterTag) await commitFiles(upstream, p.afterTag, T0 + 60);
    await createRepo(join(dir, 'distgit', `${p.name}-distgit`), p.distgit, T0 + p.distgitAt, 'rpm-master');
  }
  await createRepo(join(dir, 'info'), { 'rdo.yml': infoYaml(dir, packages) }, T0);
};

/**
 * The worlds of one test file, in a temporary folder removed (with their databases closed)
 * by `close`, which the file's `test.after.always` calls.
 */
export const worldsOf = async (prefix: string) => {
  const root = await mkdtemp(join(tmpdir(), `dlrnt-${prefix}-`));
  const opened: Database[] = [];
  const open = async (ini: string) => {
    const config = parseConfig(ini);
    const db = await openDatabase(config.default.databaseConnection);
    opened.push(db);
    return { config, db };
  };
  return {
    root,
    /**
     * A world of `packages` with a projects.ini of rdoinfo over the world's own repositories:
     * `[DEFAULT]` with `defaults` appended (which may open sections of its own), then
     * `[rdoinfo_driver]`.
     */
    async world(packages: readonly FixturePackage[], defaults = '', name = packages[0]?.name ?? 'w') {
      const dir = await mkdtemp(join(root, `${name}-`));
      await createRepos(dir, packages);
      const datadir = join(dir, 'data');
      const { config, db } = await open(
        `[DEFAULT]\ndatadir=${datadir}\ndatabase_connection=sqlite:///${dir}/commits.sqlite\n` +
          `pkginfo_driver=rdoinfo\ndistro=rpm-master\nsource=master\n${defaults}\n` +
          `[rdoinfo_driver]\nrepo=${dir}/info\ninfo_files=rdo.yml\n`,
      );
      return { config, db, datadir, dir } satisfies World;
    },
    /** A datadir and SQLite database of their own, for a test that makes its repositories itself. */
    async site(ini: string) {
      const datadir = await mkdtemp(join(root, 'data-'));
      const { config, db } = await open(
        `[DEFAULT]\ndatadir=${datadir}\ndatabase_connection=sqlite:///${datadir}/commits.sqlite\n${ini}`,
      );
      return { config, db, datadir };
    },
    async close() {
      await Promise.allSettled(opened.map((db) => db.close()));
      await rm(root, { recursive: true, force: true });
    },
  };
};
