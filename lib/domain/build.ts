/**
 * What one commit build needs, passed from the buildCommit workflow to its activities.
 */
import type { CommitCandidate } from './packages.ts';
import { commitDir } from './repo-layout.ts';

export type BuildDriverKind = 'rpmbuild' | 'mock' | 'koji' | 'copr';

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
}

/** The hashed directory of the job, relative to `datadir` (`repos/ab/cd/...`). */
export const outputDirOf = (job: Pick<BuildJob, 'commit'>): string => `repos/${commitDir(job.commit)}`;

/** `build:<project>:<commit>:<distro>[:<extended>]`: one workflow per commit build. */
export const buildWorkflowId = (
  c: Pick<CommitCandidate, 'projectName' | 'commitHash' | 'distroHash' | 'extendedHash'>,
): string =>
  `build:${c.projectName}:${c.commitHash}:${c.distroHash}${c.extendedHash ? `:${c.extendedHash}` : ''}`;

/** Log files of a build, by DLRN's names, in the hashed directory. */
export const LogFile = {
  /** SRPM creation output, with the binary build's log appended. */
  rpmbuild: 'rpmbuild.log',
  /** Our rpmbuild driver's binary build output. */
  build: 'build.log',
  mock: 'mock.log',
  notes: 'notes.log',
} as const;
