/**
 * `dlrn --status`: the last build of each selected package, read from the database as DLRN
 * reads it, without Temporal: a question about rows needs no workflow, no worker and no dev
 * server, and answers in well under a second.
 */
import { packageStatus, readPackageList } from '../activities/discovery.ts';
import { selectPackages } from '../lib/domain/select.ts';
import { createLogger } from '../lib/logger.ts';
import { openConfiguredDatabase, readConfig } from './common.ts';
import { EXIT_FAILURE, EXIT_OK } from './errors.ts';
import { say, warn } from './output.ts';
import { runInputFrom, type DlrnFlags } from './run-options.ts';

export const printStatus = async (flags: DlrnFlags): Promise<number> => {
  const config = await readConfig(flags);
  const input = runInputFrom(flags, config, false);
  const db = await openConfiguredDatabase(config);
  try {
    const deps = { config, db, logger: createLogger({ debug: flags.debug, level: 'error' }) };
    const { packages, warnings } = await readPackageList(deps, input.driverRun);
    for (const warning of warnings) warn(`warning: ${warning}`);
    const { selected, unknown } = selectPackages(packages, input.packageNames, input.projectNames);
    for (const name of unknown) warn(`No package or project named ${name}.`);
    if (unknown.length > 0) return EXIT_FAILURE;
    for (const s of await packageStatus(deps, selected)) say(`${s.type.padStart(9)} ${s.name} ${s.status}`);
    return EXIT_OK;
  } finally {
    await db.close();
  }
};
