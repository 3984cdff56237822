/** `dlrn-api`: DLRN's HTTP API on Koa (issue 8). */
import { addConfigOptions, newCommand, VERSION } from './common.ts';
import { runMain } from './errors.ts';
import { notImplementedYet } from './not-yet.ts';

runMain(async () => {
  addConfigOptions(newCommand('dlrn-api', "Serve DLRN's HTTP API.")).version(VERSION, '--version').parse();
  return Promise.resolve(notImplementedYet('dlrn-api', 8));
});
