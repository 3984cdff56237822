/**
 * One place that turns an error into what a person sees and DLRN's exit code: configuration,
 * input and tool errors print their message and exit 1; anything unexpected prints its stack.
 */
import type { ApplicationFailure } from '@temporalio/common';
import { DlrnError } from '../lib/domain/errors.ts';
import { warn } from './output.ts';
import { causesOf, rootCause } from '../lib/domain/temporal-names.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** `dlrn` when the last build that did not succeed ended RETRY (DLRN's transient result). */
export const EXIT_RETRY = 2;
/** argparse's code for a usage error, which DLRN's commands inherit. */
export const EXIT_USAGE = 2;

export const exitCodeOf = (err: unknown): number => {
  if (err instanceof DlrnError) return err.name === 'InputError' ? EXIT_USAGE : EXIT_FAILURE;
  return EXIT_FAILURE;
};

/**
 * The application failure at the root of a failed workflow: our error, with its type. The SDK is
 * loaded only here, when a command failed, so `--help` and `--version` never load it.
 */
const rootFailure = async (err: unknown): Promise<ApplicationFailure | undefined> => {
  const [{ WorkflowFailedError }, common] = await Promise.all([
    import('@temporalio/client'),
    import('@temporalio/common'),
  ]);
  if (!(err instanceof WorkflowFailedError)) return undefined;
  const root = rootCause(err);
  return root instanceof common.ApplicationFailure ? root : undefined;
};

/** Sequelize's errors of a server that is not there. */
const DATABASE_DOWN =
  /^Sequelize(Connection|ConnectionRefused|HostNotFound|HostNotReachable|ConnectionTimedOut)Error$/;

/**
 * What a person reads of an error that is not one of ours: one line, never a stack trace (those
 * are for `--debug`). A system call's refusal (a datadir that is a file, a port in use, a
 * permission) says the call and the path; a Temporal or database server that does not answer
 * says so; anything else is named unexpected.
 */
export const describeFault = (err: unknown): string => {
  const chain = causesOf(err);
  for (const e of chain) {
    const code = (e as { code?: unknown }).code;
    const details = (e as { details?: unknown }).details;
    // gRPC's UNAVAILABLE and DEADLINE_EXCEEDED: Temporal's address answers nothing.
    if (code === 14 || code === 4)
      return `Temporal is not answering: ${typeof details === 'string' && details ? details : e.message}`;
    if (DATABASE_DOWN.test(e.name)) return `the database is not answering: ${e.message}`;
    if (typeof code === 'string' && (e as NodeJS.ErrnoException).syscall) return e.message;
  }
  const first = chain[0];
  return `unexpected error: ${first ? first.message : String(err)} (run with --debug for its stack trace)`;
};

/** Runs a command's main function and exits with its code, reporting errors once. */
export const runMain = (main: () => Promise<number | void>): void => {
  main().then(
    (code) => process.exit(code ?? EXIT_OK),
    async (err: unknown) => {
      const failure = await rootFailure(err).catch(() => undefined);
      if (failure) warn(`${failure.type ?? 'Error'}: ${failure.message}`);
      else if (err instanceof DlrnError) warn(`${err.name}: ${err.message}`);
      else if (process.argv.includes('--debug') && err instanceof Error) warn(err.stack ?? err.message);
      else warn(describeFault(err));
      process.exit(exitCodeOf(err));
    },
  );
};
