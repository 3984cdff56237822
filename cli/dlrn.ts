/**
 * `dlrn`: build new commits of every package, with DLRN's flags and exit codes. Each
 * invocation is one `run` workflow. This module only defines and parses the command line, so
 * `--help` and `--version` answer without loading Temporal, the database or the activities;
 * the work is in cli/dlrn-run.ts, imported once the flags are read.
 */
import { addConfigOptions, newCommand, VERSION } from './common.ts';
import { addRunOptions, type DlrnFlags } from './run-options.ts';
import { runMain } from './errors.ts';
import { InputError } from '../lib/domain/errors.ts';

const dlrnCommand = () =>
  addRunOptions(
    addConfigOptions(
      newCommand(
        'dlrn',
        'Build RPMs of new upstream commits and publish yum repositories (DLRN-compatible).',
      ),
    ),
  )
    .version(VERSION, '--version', 'print the version and exit')
    .addHelpText(
      'after',
      '\nNot in DLRN: `dlrn schedule --help` runs dlrn from a Temporal Schedule instead of cron;' +
        '\n`dlrn promotions --help` shows and waives automatic promotion.',
    );

const main = async (): Promise<number> => {
  const flags = dlrnCommand().parse().opts<DlrnFlags>();
  if (flags.projectName.length > 0 && flags.packageName.length > 0) {
    throw new InputError('argument --package-name: not allowed with argument --project-name');
  }
  // --status reads rows only: no Temporal (see cli/dlrn-status.ts).
  if (flags.status && !flags.dev) return (await import('./dlrn-status.ts')).printStatus(flags);
  const { runDlrn } = await import('./dlrn-run.ts');
  return runDlrn(flags);
};

// `dlrn schedule ...` is ours; everything else is DLRN's command line.
runMain(
  process.argv[2] === 'schedule'
    ? async () => (await import('./schedule.ts')).scheduleMain(process.argv.slice(3))
    : process.argv[2] === 'promotions'
      ? async () => (await import('./promotions.ts')).promotionsMain(process.argv.slice(3))
      : main,
);
