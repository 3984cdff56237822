/**
 * `dlrn-user`: create, update or delete API users in DLRN's `users` table of the database
 * named by projects.ini, with passwords hashed as SHA-512 crypt (passlib's format, so DLRN and
 * this project accept each other's users). Exit 0 on success and 255 on any error, and DLRN's
 * log lines (logger `dlrn.user`) on stderr, as DLRN.
 */
import { createUser, deleteUser, updatePassword, userExists } from '../lib/auth/users.ts';
import { DlrnError, NotFoundError } from '../lib/domain/errors.ts';
import {
  addConfigOptions,
  newCommand,
  openConfiguredDatabase,
  readConfig,
  VERSION,
  type ConfigFlags,
} from './common.ts';
import { EXIT_OK, runMain } from './errors.ts';
import { dlrnLog } from './dlrn-log.ts';
import { say } from './output.ts';
import { ask } from './prompt.ts';

/** DLRN's functions return -1 on error, which the shell sees as 255. */
const EXIT_USER_ERROR = 255;

/** DLRN's user.py logs as `dlrn.user` (its module name). */
const info = (message: string) => dlrnLog('INFO', 'dlrn.user', message);
const error = (message: string) => dlrnLog('ERROR', 'dlrn.user', message);

interface UserFlags {
  username: string;
  password?: string;
  force?: boolean;
}

type Action = (flags: UserFlags, config: ConfigFlags) => Promise<number>;

const withModels = async (
  configFlags: ConfigFlags,
  work: (db: Awaited<ReturnType<typeof openConfiguredDatabase>>) => Promise<number>,
) => {
  const db = await openConfiguredDatabase(await readConfig(configFlags));
  try {
    return await work(db);
  } catch (err) {
    if (!(err instanceof DlrnError)) throw err;
    error(`ERROR: ${err.message}`);
    return EXIT_USER_ERROR;
  } finally {
    await db.close();
  }
};

const create: Action = (flags, configFlags) =>
  withModels(configFlags, async ({ models }) => {
    if (await userExists(models, flags.username)) {
      error(`User ${flags.username} already exists`);
      return EXIT_USER_ERROR;
    }
    const password =
      flags.password ?? (await ask(`Enter password for ${flags.username}: `, { hidden: true }));
    await createUser(models, flags.username, password);
    info(`User ${flags.username} successfully created`);
    return EXIT_OK;
  });

const update: Action = (flags, configFlags) =>
  withModels(configFlags, async ({ models }) => {
    await updatePassword(models, flags.username, flags.password ?? '');
    info(`User ${flags.username} updated`);
    return EXIT_OK;
  });

const remove: Action = (flags, configFlags) =>
  withModels(configFlags, async ({ models }) => {
    if (!(await userExists(models, flags.username)))
      throw new NotFoundError(`User ${flags.username} does not exist`);
    if (!flags.force) {
      say(`Are you sure you want to delete user ${flags.username}? If so, type YES to continue.`);
      const answer = await ask('');
      if (answer !== 'YES') {
        say('Action not confirmed, exiting');
        return EXIT_USER_ERROR;
      }
    }
    await deleteUser(models, flags.username);
    info(`User ${flags.username} deleted`);
    return EXIT_OK;
  });

runMain(async () => {
  let action: Promise<number> | undefined;
  const program = addConfigOptions(newCommand('dlrn-user', 'Create, update or delete API users.')).version(
    VERSION,
    '--version',
  );
  const configFlags = () => program.opts<ConfigFlags>();
  program
    .command('create')
    .description('create a user; asks for the password when --password is not given')
    .requiredOption('--username <name>', 'user name')
    .option('--password <password>', 'password')
    .action((flags: UserFlags) => {
      action = create(flags, configFlags());
    });
  program
    .command('delete')
    .description('delete a user; asks to type YES unless --force')
    .requiredOption('--username <name>', 'user name')
    .option('--force', 'do not ask for confirmation', false)
    .action((flags: UserFlags) => {
      action = remove(flags, configFlags());
    });
  program
    .command('update')
    .description("change a user's password")
    .requiredOption('--username <name>', 'user name')
    .requiredOption('--password <password>', 'new password')
    .action((flags: UserFlags) => {
      action = update(flags, configFlags());
    });
  program.parse();
  return action ?? EXIT_OK;
});
