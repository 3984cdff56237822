/**
 * Build failures DLRN treats as transient (dlrn-spec §4.7): a log line matching one of these
 * means the build is tried again, up to `maxretries` times.
 */
const TRANSIENT_PATTERNS: readonly RegExp[] = [
  /Error: Nothing to do/,
  /Error downloading packages/,
  /No more mirrors to try/,
  /Cannot retrieve metalink for repository/,
  /Could not retrieve mirrorlist/,
  /Failed to synchronize cache for repo/,
  /No route to host/,
  /Device or resource busy/,
  /Could not resolve host/,
  /Temporary failure in name resolution/,
  /distroinfo\.exception\.CommandFailed: Command failed with return code 128: git/,
  /Error fetching remote/,
  /Connection timed out/,
];

/** The first log line that marks the failure as transient, if any. */
export const transientLine = (log: string): string | undefined =>
  log.split('\n').find((line) => TRANSIENT_PATTERNS.some((re) => re.test(line)));
