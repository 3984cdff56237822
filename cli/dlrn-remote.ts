/**
 * `dlrn-remote`: imports the commits of a hashed repository built by another instance (its
 * `commit.yaml`, logs and RPMs) as an `importCommit` workflow (dlrn-spec §8.2).
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { importCommit, ImportInput } from '../workflows/import.ts';
import { InputError } from '../lib/domain/errors.ts';
import { commandWorkflowId } from '../lib/domain/temporal-names.ts';
import { createLogger } from '../lib/logger.ts';
import { addConfigOptions, newCommand, localWorkerDeps, readConfig, VERSION } from './common.ts';
import { EXIT_OK, runMain } from './errors.ts';
import { say } from './output.ts';
import { installRuntimeLogger, withTemporal, workflowUrl } from './worker.ts';

interface RemoteFlags {
  configFile: string;
  configOverride: string[];
  debug: boolean;
  repoUrl: string;
  infoRepo?: string;
}

const main = async (): Promise<number> => {
  const flags = addConfigOptions(newCommand('dlrn-remote', 'Import a commit built by another DLRN instance.'))
    .requiredOption('--repo-url <url>', 'URL of the hashed repository to import (http, https or file)')
    .option('--info-repo <path>', 'use a local distroinfo/rdoinfo checkout')
    .version(VERSION, '--version')
    .parse()
    .opts<RemoteFlags>();
  let url: URL;
  try {
    url = new URL(flags.repoUrl);
  } catch {
    throw new InputError(`argument --repo-url: "${flags.repoUrl}" is not a URL`);
  }
  if (!['http:', 'https:', 'file:'].includes(url.protocol))
    throw new InputError(
      `argument --repo-url: ${url.protocol} URLs cannot be imported; use http, https or file`,
    );
  const config = await readConfig(flags);
  const logger = createLogger({ debug: flags.debug, name: 'dlrn-remote', level: 'error' });
  installRuntimeLogger(logger);
  const input: ImportInput = {
    repoUrl: flags.repoUrl,
    driverRun: {
      ...(flags.infoRepo ? { infoRepo: resolve(flags.infoRepo) } : {}),
      cwd: process.cwd(),
      dev: false,
      local: false,
    },
  };
  const workflowId = commandWorkflowId('import', Date.now(), randomBytes(4).toString('hex'));
  const { result, link } = await withTemporal(
    config,
    localWorkerDeps(config, logger),
    async (client, endpoint) => ({
      result: await client.workflow.execute<typeof importCommit>('importCommit', {
        taskQueue: endpoint.taskQueue,
        workflowId,
        args: [input],
      }),
      link: workflowUrl(endpoint, workflowId),
    }),
  );
  for (const c of result.commits) {
    if (c.skipped) say(`Skipped ${c.projectName} ${c.commitHash}: ${c.skipped}.`);
    else
      say(
        `Imported ${c.projectName} ${c.commitHash} (${c.status}) into ${config.default.datadir}/${c.outputDir}.`,
      );
  }
  if (link) say(`Import workflow: ${link}`);
  return EXIT_OK;
};

runMain(main);
