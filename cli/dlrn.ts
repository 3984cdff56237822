/**
 * `dlrn`: build new commits of every package, with DLRN's flags and exit codes.
 */
import { Option } from 'commander';
import { InputError } from '../lib/domain/errors.ts';
import {
  addConfigOptions,
  collect,
  newCommand,
  openConfiguredDatabase,
  readConfig,
  VERSION,
} from './common.ts';
import { EXIT_FAILURE, runMain } from './errors.ts';
import { say, warn } from './output.ts';

interface DlrnFlags {
  configFile: string;
  configOverride: string[];
  infoRepo?: string;
  buildEnv: string[];
  local: boolean;
  headOnly: boolean;
  projectName: string[];
  packageName: string[];
  dev: boolean;
  logCommands: boolean;
  usePublic: boolean;
  order: boolean;
  sequential: boolean;
  status: boolean;
  recheck: boolean;
  forceRecheck: boolean;
  run?: string;
  stop: boolean;
  verboseBuild: boolean;
  verboseMock: boolean;
  repo: boolean;
  debug: boolean;
}

export const dlrnCommand = () =>
  addConfigOptions(
    newCommand('dlrn', 'Build RPMs of new upstream commits and publish yum repositories (DLRN-compatible).'),
  )
    .option('--info-repo <path>', 'use a local distroinfo/rdoinfo checkout instead of cloning it')
    .option('--build-env <VAR=VALUE>', 'variable for the build environment; repeatable', collect, [])
    .option('--local', 'use local git checkouts as they are: clone only what is missing', false)
    .option('--head-only', 'build only the newest commit of each package', false)
    .option('--project-name <name>', 'build only packages of this project; repeatable', collect, [])
    .option('--package-name <name>', 'build only this package; repeatable', collect, [])
    .option('--dev', 'development mode: temporary database, local distgit changes kept', false)
    .option('--log-commands', 'log the external commands run', false)
    .option('--use-public', 'add the public current repository to the build environment', false)
    .option('--order', 'build in dependency order computed from the spec files (implies --sequential)', false)
    .option('--sequential', 'build one commit at a time, whatever `workers` says', false)
    .option('--status', 'print the build status of the packages and exit', false)
    .option('--recheck', 'rebuild the last failed commit of the named packages', false)
    .option(
      '--force-recheck',
      'with --recheck, rebuild even a successful commit (needs allow_force_rechecks)',
      false,
    )
    .option('--run <program>', 'run PROGRAM for each package head instead of building (implies --head-only)')
    .option('--stop', 'stop at the first failed build', false)
    .option('--verbose-build', 'show the build output as it runs', false)
    .addOption(new Option('--verbose-mock', 'deprecated alias of --verbose-build').hideHelp().default(false))
    .option('--no-repo', 'do not create the hashed repository (RPM links, createrepo, .repo file)')
    .version(VERSION, '--version', 'print the version and exit');

const main = async (): Promise<number> => {
  const flags = dlrnCommand().parse().opts<DlrnFlags>();
  if (flags.projectName.length > 0 && flags.packageName.length > 0) {
    throw new InputError('argument --package-name: not allowed with argument --project-name');
  }
  if (flags.recheck && flags.projectName.length === 0 && flags.packageName.length === 0) {
    warn('Please use --package-name or --project-name with --recheck.');
    return EXIT_FAILURE;
  }
  const config = await readConfig(flags);
  const db = await openConfiguredDatabase(config);
  try {
    say(`projects.ini ${config.file ?? ''} is valid; database ${db.target.display} is at DLRN schema head.`);
    warn(
      'dlrn: discovering and building packages is not implemented yet in this version ' +
        '(package discovery, builds, repositories and runs land with issues 4 to 7).',
    );
    return EXIT_FAILURE;
  } finally {
    await db.close();
  }
};

runMain(main);
