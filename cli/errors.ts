/**
 * One place that turns an error into what a person sees and DLRN's exit code: configuration,
 * input and tool errors print their message and exit 1; anything unexpected prints its stack.
 */
import type { ApplicationFailure } from '@temporalio/common';
import { DlrnError } from '../lib/domain/errors.ts';
import { warn } from './output.ts';
import { rootCause } from '../lib/domain/temporal-names.ts';

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

/** Runs a command's main function and exits with its code, reporting errors once. */
export const runMain = (main: () => Promise<number | void>): void => {
  main().then(
    (code) => process.exit(code ?? EXIT_OK),
    async (err: unknown) => {
      const failure = await rootFailure(err).catch(() => undefined);
      if (failure) warn(`${failure.type ?? 'Error'}: ${failure.message}`);
      else if (err instanceof DlrnError) warn(`${err.name}: ${err.message}`);
      else warn(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(exitCodeOf(err));
    },
  );
};
