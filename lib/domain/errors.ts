/**
 * Every error the project raises on purpose. Each has a fixed `name`, a stable `code`, a
 * `retryable` flag that decides its fate in Temporal, and the original error as `cause`.
 * Workflows branch on `ErrorType` (the failure's `type`), never on `instanceof`.
 */

export const ErrorType = {
  DlrnError: 'DlrnError',
  ConfigError: 'ConfigError',
  InputError: 'InputError',
  DatabaseError: 'DatabaseError',
  TransientBuildError: 'TransientBuildError',
  BuildFailedError: 'BuildFailedError',
  NotFoundError: 'NotFoundError',
  GoneError: 'GoneError',
  ForbiddenError: 'ForbiddenError',
  ConflictError: 'ConflictError',
  ToolError: 'ToolError',
  GitError: 'GitError',
  AlreadyBuiltError: 'AlreadyBuiltError',
  TemporalUnavailableError: 'TemporalUnavailableError',
  DiskFullError: 'DiskFullError',
} as const;
type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

interface DlrnErrorOptions {
  cause?: unknown;
}

/** Base class: not retried unless a subclass says so. */
export class DlrnError extends Error {
  override name: ErrorTypeName = ErrorType.DlrnError;
  readonly code: string = 'EDLRN';
  readonly retryable: boolean = false;

  constructor(message: string, options: DlrnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** One problem found in projects.ini or an override. */
export interface ConfigIssue {
  /** `section.option`, or the section alone, or the file when the syntax is broken. */
  where: string;
  message: string;
}

/**
 * projects.ini or a `--config-override` is wrong. Lists every issue found, so a person fixes
 * the file in one pass; the command does not start.
 */
export class ConfigError extends DlrnError {
  override name = ErrorType.ConfigError;
  override readonly code = 'ECONFIG';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], source?: string, options: DlrnErrorOptions = {}) {
    const head = source ? `invalid configuration in ${source}` : 'invalid configuration';
    super(`${head}:\n${issues.map((i) => `  ${i.message}`).join('\n')}`, options);
    this.issues = issues;
  }
}

/** A bad CLI flag, API parameter or workflow input; nothing was changed. */
export class InputError extends DlrnError {
  override name = ErrorType.InputError;
  override readonly code = 'EINPUT';
}

/** The database cannot be opened, adopted or migrated. */
export class DatabaseError extends DlrnError {
  override name = ErrorType.DatabaseError;
  override readonly code = 'EDATABASE';
}

/** A build failed with an error DLRN treats as transient; Temporal retries it. */
export class TransientBuildError extends DlrnError {
  override name = ErrorType.TransientBuildError;
  override readonly code = 'ETRANSIENT';
  override readonly retryable = true;
}

/** A build failed for good (bad spec, compile error); recorded FAILED, not retried. */
export class BuildFailedError extends DlrnError {
  override name = ErrorType.BuildFailedError;
  override readonly code = 'EBUILD';
}

/** An external tool (rpmbuild, createrepo_c, git, temporal) is missing or misbehaved. */
export class ToolError extends DlrnError {
  override name = ErrorType.ToolError;
  override readonly code = 'ETOOL';
}

/** A git operation failed (clone, fetch, checkout); the project is skipped for this run. */
export class GitError extends DlrnError {
  override name = ErrorType.GitError;
  override readonly code = 'EGIT';
}

/**
 * The commit already has a finished build (a non-RETRY row) that owns its hashed directory: a
 * second build would remove published RPMs. Not retried; the workflow reports that build instead.
 */
export class AlreadyBuiltError extends DlrnError {
  override name = ErrorType.AlreadyBuiltError;
  override readonly code = 'EBUILT';
}

/** What a request names does not exist (a commit, a vote, a user, a schedule). */
export class NotFoundError extends DlrnError {
  override name = ErrorType.NotFoundError;
  override readonly code = 'ENOTFOUND';
}

/** What a request names existed and was purged. */
export class GoneError extends DlrnError {
  override name = ErrorType.GoneError;
  override readonly code = 'EGONE';
}

/** The request asks for something never allowed (a promote name outside the repo tree). */
export class ForbiddenError extends DlrnError {
  override name = ErrorType.ForbiddenError;
  override readonly code = 'EFORBIDDEN';
}

/** The request contradicts the state it would change (recheck a successful build). */
export class ConflictError extends DlrnError {
  override name = ErrorType.ConflictError;
  override readonly code = 'ECONFLICT';
}

/** Temporal has not answered for longer than a command waits; nothing was lost, try again. */
export class TemporalUnavailableError extends DlrnError {
  override name = ErrorType.TemporalUnavailableError;
  override readonly code = 'ETEMPORAL';
}

/**
 * The disk a step writes to is full (ENOSPC, or a tool saying so). Not the package's fault: the
 * build is not recorded FAILED, and the run stops starting builds until there is room.
 */
export class DiskFullError extends DlrnError {
  override name = ErrorType.DiskFullError;
  override readonly code = 'ENOSPC';
}
