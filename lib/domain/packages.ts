/**
 * What a package-info driver says about a package, and the commits discovery finds for it.
 * Field names follow DLRN's package dict keys (`master-distgit` → `masterDistgit`).
 */

/** Commit types DLRN knows; only `rpm` builds are implemented (DLRN raises for `container`). */
export type CommitType = 'rpm' | 'container';

export interface PackageInfo {
  /** The package name (rdoinfo `name`), stored as `commits.project_name`. */
  name: string;
  /** The upstream project the package follows (`--project-name` selects on it). */
  project: string;
  /** Upstream git URL(s); several for multi-repo packages; `Unknown` when the driver finds it later. */
  upstream: string | string[];
  /** The distgit (packaging) repository URL. */
  masterDistgit: string;
  maintainers: string[];
  /** Distgit branch; `[DEFAULT] distro` when unset. */
  distroBranch?: string;
  /** Upstream branch; `[DEFAULT] source` when unset. */
  sourceBranch?: string;
  /** Subdirectory of the distgit holding the spec. */
  distgitPath?: string;
  component?: string;
  /** Build only tagged commits (`build-tags-only`). */
  buildTagsOnly?: boolean;
  /** A ref merged with `-s ours` before computing the version (`version-from`). */
  versionFrom?: string;
  types: CommitType[];
  /** Driver-specific keys (downstream distgit and source, versions.csv data), kept as read. */
  extra: Record<string, string>;
}

/** What a package-info driver lists: the packages, and what a person should be told about them. */
export interface PackageList {
  packages: PackageInfo[];
  /** For example a `tags=` value that no package carries. */
  warnings: string[];
}

/**
 * One candidate build: a source commit combined with a distgit commit.
 * - `distroHash`: the distgit commit (`dev` in dev mode).
 * - `extendedHash`: a third commit for drivers that follow one more repository (downstream:
 *   `<downstream distgit sha>_<downstream source sha>`), else null.
 * Times are epoch seconds.
 */
export interface CommitCandidate {
  projectName: string;
  type: CommitType;
  commitHash: string;
  distroHash: string;
  extendedHash: string | null;
  dtCommit: number;
  dtDistro: number;
  dtExtended: number;
  commitBranch: string;
  repoDir: string | null;
  distgitDir: string;
  component: string | null;
  versionsCsv: string | null;
  /**
   * RETRY rows the commit already has (set by discovery): each later build of it is a new
   * attempt with a workflow id of its own.
   */
  retries?: number;
}

/** The part of a stored commit row discovery looks at. */
export interface StoredCommit {
  id: number;
  commitHash: string | null;
  distroHash: string | null;
  extendedHash: string | null;
  dtCommit: number | null;
  dtBuild: number | null;
  commitBranch: string | null;
  status: string | null;
  type: string | null;
}

export const BuildStatus = { success: 'SUCCESS', failed: 'FAILED', retry: 'RETRY' } as const;
export type BuildStatusName = (typeof BuildStatus)[keyof typeof BuildStatus];
