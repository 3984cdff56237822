/** `dlrn-user`: manage API users in DLRN's users table (issue 7). */
import { addConfigOptions, newCommand, VERSION } from './common.ts';
import { runMain } from './errors.ts';
import { notImplementedYet } from './not-yet.ts';

runMain(async () => {
  const program = addConfigOptions(newCommand('dlrn-user', 'Create, update or delete API users.')).version(
    VERSION,
    '--version',
  );
  program.command('create').requiredOption('--username <name>').option('--password <password>');
  program
    .command('delete')
    .requiredOption('--username <name>')
    .option('--force', 'do not ask for confirmation');
  program.command('update').requiredOption('--username <name>').requiredOption('--password <password>');
  program.parse();
  return Promise.resolve(notImplementedYet('dlrn-user', 7));
});
