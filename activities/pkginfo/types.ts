import type { CommitWindow } from '../../lib/domain/discovery.ts';
import type { CommitCandidate, CommitType, PackageInfo, PackageList } from '../../lib/domain/packages.ts';

/** Per-run settings a driver needs besides projects.ini. */
export interface DriverRun {
  /** `--info-repo`: a local distroinfo checkout. */
  infoRepo?: string;
  /** The directory `dlrn` was started in (the local driver builds it). */
  cwd: string;
  /** `--dev`: distgit not refreshed, distro hash `dev`. */
  dev: boolean;
  /** `--local`: existing checkouts used as they are. */
  local: boolean;
}

export interface PackageCommits {
  commits: CommitCandidate[];
  /** A git operation failed: the package goes to skiplist.txt and the run goes on. */
  skipped: boolean;
  error?: string;
}

/** DLRN's package-info driver contract (dlrn-spec §6.1). */
export interface PkginfoDriver {
  getPackages(run: DriverRun): Promise<PackageList>;
  getInfo(pkg: PackageInfo, window: CommitWindow, run: DriverRun, type: CommitType): Promise<PackageCommits>;
  /** Where the package's spec lives once its distgit is checked out. */
  distgitDir(pkg: PackageInfo): string;
}
