/**
 * What a run does, as `dlrn` flags say it: the flags themselves (shared by `dlrn` and
 * `dlrn schedule create`) and the run workflow's input they make.
 */
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import type { DlrnConfig } from '../lib/config/index.ts';
import type { RunInput } from '../workflows/run.ts';
import { collect } from './common.ts';

export interface DlrnFlags {
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
  dryRun: boolean;
}

/** The flags that say what a run does; `dlrn schedule create` takes them too. */
export const addRunOptions = (command: Command): Command =>
  command
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
      'rebuild the last commit even if it succeeded (needs allow_force_rechecks; implies --recheck)',
      false,
    )
    .option('--run <program>', 'run PROGRAM for each package head instead of building (implies --head-only)')
    .option('--stop', 'stop at the first failed build', false)
    .option('--verbose-build', 'show the build output as it runs', false)
    .addOption(new Option('--verbose-mock', 'deprecated alias of --verbose-build').hideHelp().default(false))
    .option('--no-repo', 'do not create the hashed repository (RPM links, createrepo, .repo file)')
    .option(
      '--dry-run',
      'not in DLRN: list the commits that would be built, in build order, and exit',
      false,
    );

/** The run workflow's input for these flags and this configuration. */
export const runInputFrom = (flags: DlrnFlags, config: DlrnConfig, recheck: boolean): RunInput => ({
  mode: flags.status ? 'status' : recheck ? 'recheck' : flags.dryRun ? 'plan' : 'build',
  driverRun: {
    ...(flags.infoRepo ? { infoRepo: resolve(flags.infoRepo) } : {}),
    cwd: process.cwd(),
    dev: flags.dev,
    local: flags.local,
  },
  packageNames: flags.packageName,
  projectNames: flags.projectName,
  headOnly: flags.headOnly,
  dev: flags.dev,
  order: flags.order,
  ...(flags.run ? { runProgram: flags.run } : {}),
  buildEnv: flags.buildEnv,
  stop: flags.stop,
  forceRecheck: flags.forceRecheck,
  discoveryConcurrency: 4,
  workers: flags.sequential || flags.order ? 1 : config.default.workers,
  maxretries: config.default.maxretries,
  baseurl: config.default.baseurl,
  verbose: flags.verboseBuild || flags.verboseMock,
  usePublic: flags.usePublic,
  noRepo: !flags.repo,
  logCommands: flags.logCommands,
  webhooks: config.api.webhookUrls.length > 0,
  rsync: config.default.rsyncdest !== '',
});
