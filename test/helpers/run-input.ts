import type { DriverRun } from '../../activities/index.ts';
import type { RunInput } from '../../workflows/run.ts';

/** A `run` workflow input as `dlrn` would send it with no flags, changed by `over`. */
export const runInput = (driverRun: DriverRun, over: Partial<RunInput> = {}): RunInput => ({
  mode: 'plan',
  driverRun,
  packageNames: [],
  projectNames: [],
  headOnly: false,
  dev: false,
  order: false,
  buildEnv: [],
  stop: false,
  discoveryConcurrency: 1,
  ...over,
});
