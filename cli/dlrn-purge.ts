/** `dlrn-purge`: remove old builds, keeping DLRN's keep-newest-successful rule (issue 7). */
import { addConfigOptions, newCommand, VERSION } from './common.ts';
import { runMain } from './errors.ts';
import { notImplementedYet } from './not-yet.ts';

runMain(async () => {
  addConfigOptions(newCommand('dlrn-purge', 'Purge builds older than a number of days.'), true)
    .requiredOption('--older-than <days>', 'purge builds older than this many days')
    .option('-y', 'do not ask for confirmation', false)
    .option('--dry-run', 'only show what would be purged', false)
    .option('--exclude-dirs <dirs>', 'comma-separated repo directories whose RPMs are kept')
    .version(VERSION, '--version')
    .parse();
  return Promise.resolve(notImplementedYet('dlrn-purge', 7));
});
