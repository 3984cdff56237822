/**
 * What one commit build needs, passed from the buildCommit workflow to its activities.
 */
import type { CommitCandidate, PackageInfo } from './packages.ts';
import { commitDir } from './repo-layout.ts';

export interface BuildJob {
  commit: CommitCandidate;
  /** When the build started, epoch seconds (the workflow's clock, the same on replay). */
  dtBuild: number;
  /** The package dict's keys the build uses. */
  pkg: {
    name: string;
    upstream: string | string[];
    masterDistgit: string;
    maintainers: string[];
    versionFrom?: string;
  };
  /** `--build-env VAR=VALUE` items. */
  buildEnv: string[];
  /** `--order`: the driver gets `-D repo_bootstrap 1`. */
  bootstrap: boolean;
  /** `--verbose-build`. */
  verbose: boolean;
  /** `--dev` and `--use-public`: add the public current repo to the build environment. */
  usePublic: boolean;
  /** `--log-commands`: the worker prints each external command it runs for this build. */
  logCommands?: boolean;
}

/** The hashed directory of the job, relative to `datadir` (`repos/ab/cd/...`). */
export const outputDirOf = (job: Pick<BuildJob, 'commit'>): string => `repos/${commitDir(job.commit)}`;

/** Log files of a build, by DLRN's names, in the hashed directory. */
export const LogFile = {
  /** SRPM creation output, with the binary build's log appended. */
  rpmbuild: 'rpmbuild.log',
  /** Our rpmbuild driver's binary build output. */
  build: 'build.log',
  mock: 'mock.log',
  notes: 'notes.log',
} as const;

/** A package of the run, as post-build lists it in versions.csv. */
export interface PublishedPackage {
  name: string;
  upstream: string;
  masterDistgit: string;
  component?: string;
}

/** The driver's packages as post-build lists them (first upstream of multi-repo packages). */
export const publishedPackagesOf = (packages: readonly PackageInfo[]): PublishedPackage[] =>
  packages.map((p) => ({
    name: p.name,
    upstream: Array.isArray(p.upstream) ? (p.upstream[0] ?? '') : p.upstream,
    masterDistgit: p.masterDistgit,
    ...(p.component ? { component: p.component } : {}),
  }));

/** The package keys a build job carries, from the driver's entry when it has one. */
export const jobPackageOf = (projectName: string, pkg: PackageInfo | undefined): BuildJob['pkg'] => ({
  name: projectName,
  upstream: pkg?.upstream ?? '',
  masterDistgit: pkg?.masterDistgit ?? '',
  maintainers: pkg?.maintainers ?? [],
  ...(pkg?.versionFrom ? { versionFrom: pkg.versionFrom } : {}),
});

const WRAPPER_PREFIX = 'Error in build_rpm_wrapper for ';

/**
 * A failed build's notes in DLRN's words: its build step's error as DLRN re-raises it,
 * `Error in build_rpm_wrapper for <project>: <error>`; the checks after the build (no RPMs, not
 * installed) are DLRN's own sentences and stand alone.
 */
export const failureNotes = (project: string, message: string): string =>
  /^(No rpms built for |Error installing )/.test(message)
    ? message
    : `${WRAPPER_PREFIX}${project}: ${message}`;

/** The error of failure notes, without DLRN's prefix (for a one-line summary). */
export const failureOf = (notes: string): string => {
  const at = notes.startsWith(WRAPPER_PREFIX) ? notes.indexOf(': ', WRAPPER_PREFIX.length) : -1;
  return at < 0 ? notes : notes.slice(at + 2);
};
