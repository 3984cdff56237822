// The worker's workflowsPath points here; nothing else imports workflow code at runtime.
export { checkWorker } from './check-worker.ts';
export { run } from './run.ts';
export { buildCommit } from './build-commit.ts';
export { purge } from './purge.ts';
export { importCommit } from './import.ts';
export { promoteBatch } from './promote-batch.ts';
export { deliverEvent } from './deliver-event.ts';
export { promotionTarget } from './promotion-target.ts';
