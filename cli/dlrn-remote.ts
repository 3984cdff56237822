/** `dlrn-remote`: import a commit built elsewhere from its hashed repository URL (issue 7). */
import { addConfigOptions, newCommand, VERSION } from './common.ts';
import { runMain } from './errors.ts';
import { notImplementedYet } from './not-yet.ts';

runMain(async () => {
  addConfigOptions(newCommand('dlrn-remote', 'Import a commit built by another DLRN instance.'))
    .requiredOption('--repo-url <url>', 'URL of the hashed repository to import')
    .option('--info-repo <path>', 'use a local distroinfo/rdoinfo checkout')
    .version(VERSION, '--version')
    .parse();
  return Promise.resolve(notImplementedYet('dlrn-remote', 7));
});
