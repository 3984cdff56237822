/**
 * `GET /metrics` for Prometheus (never authenticated): DLRN's metrics by DLRN's names (build
 * counters by status with the `baseurl` label, read from the database at scrape time, and
 * `dlrn_request_processing_seconds`), Node's process metrics, and the pipeline's own: runs and
 * builds running and queued (from Temporal), the newest build's time, and how far each
 * promotion name lags behind the newest successful build.
 */
import type { Context, Next } from 'koa';
import { collectDefaultMetrics, Counter, Gauge, Registry, Summary } from 'prom-client';
import type { RunProgress } from '../workflows/run.ts';
import { promotionLags, type CommitModel } from '../lib/db/index.ts';
import { decideTarget } from '../lib/db/promotion-candidates.ts';
import { listDecisions } from '../lib/db/promotion-decisions.ts';
import type { CandidateStatus, TargetCriteria } from '../lib/domain/promotion-criteria.ts';
import { loadCriteria } from '../lib/repo/promotion-criteria-file.ts';
import type { ApiDeps } from './context.ts';
import { PROGRESS_QUERY } from '../lib/domain/temporal-names.ts';

const BUILD_COUNTERS = [
  ['dlrn_builds_succeeded_total', 'Total number of successful builds', 'SUCCESS'],
  ['dlrn_builds_failed_total', 'Total number of failed builds', 'FAILED'],
  ['dlrn_builds_retry_total', 'Total number of builds in retry state', 'RETRY'],
  ['dlrn_builds_total', 'Total number of builds', undefined],
] as const;

/** Running runs whose queues are summed for `dlrn_builds_queued`. */
const QUEUE_SCAN_LIMIT = 20;

/** DLRN's build counters and our database gauges: each reads the database when scraped. */
const registerBuildMetrics = (registry: Registry, deps: ApiDeps): void => {
  const baseurl = deps.config.default.baseurl ?? '';
  for (const [name, help, status] of BUILD_COUNTERS) {
    new Counter({
      name,
      help,
      labelNames: ['baseurl'],
      registers: [registry],
      async collect() {
        const n = await deps.db.models.Commit.count(status ? { where: { status } } : {});
        this.reset();
        this.inc({ baseurl }, n);
      },
    });
  }
  new Gauge({
    name: 'dlrn_last_build_timestamp_seconds',
    help: 'Build time of the newest build (epoch seconds)',
    registers: [registry],
    async collect() {
      const max = await deps.db.models.Commit.max<number | null, CommitModel>('dtBuild');
      this.set(max ?? 0);
    },
  });
  new Gauge({
    name: 'dlrn_promotion_lag_seconds',
    help: 'How much older the promoted build of each promotion name is than the newest successful build',
    labelNames: ['promote_name'],
    registers: [registry],
    async collect() {
      const lags = await promotionLags(deps.db);
      this.reset();
      for (const { name, lag } of lags) this.set({ promote_name: name }, lag);
    },
  });
};

/** The pipeline's gauges, read from Temporal when scraped: runs and builds going, builds queued. */
const registerPipelineMetrics = (registry: Registry, temporal: NonNullable<ApiDeps['temporal']>): void => {
  const running = (type: string) =>
    `WorkflowType = '${type}' AND ExecutionStatus = 'Running' AND TaskQueue = '${temporal.taskQueue}'`;
  for (const [name, help, type] of [
    ['dlrn_runs_running', 'Run workflows in progress', 'run'],
    ['dlrn_builds_running', 'Build workflows in progress', 'buildCommit'],
  ] as const) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set((await temporal.client.workflow.count(running(type))).count);
      },
    });
  }
  new Gauge({
    name: 'dlrn_builds_queued',
    help: 'Commits the running runs still have to build',
    registers: [registry],
    async collect() {
      let queued = 0;
      let scanned = 0;
      for await (const run of temporal.client.workflow.list({ query: running('run') })) {
        if (++scanned > QUEUE_SCAN_LIMIT) break;
        const progress = await temporal.client.workflow
          .getHandle(run.workflowId, run.runId)
          .query<RunProgress>(PROGRESS_QUERY)
          .catch(() => undefined);
        queued += progress?.builds.filter((b) => b.status === 'QUEUED').length ?? 0;
      }
      this.set(queued);
    },
  });
};

/**
 * Automatic promotion's metrics, read from the database when scraped (any API instance gives the
 * same figures): candidates not meeting the criteria yet, decisions (promotions, dry runs), and
 * the time from a promotion's last required vote to the promotion, per target.
 */
const registerPromotionMetrics = (registry: Registry, deps: ApiDeps): void => {
  const perTarget = async (fill: (target: TargetCriteria, now: number) => Promise<void>): Promise<void> => {
    const criteria = await loadCriteria(deps.config, { keepLastGood: true }).catch(() => undefined);
    const now = Math.trunc(Date.now() / 1000);
    for (const target of criteria?.targets ?? []) await fill(target, now);
  };
  new Gauge({
    name: 'dlrn_promotion_pending_candidates',
    help: 'Candidates of a promotion target not promoted: refused (a required job failed) or waiting (votes missing)',
    labelNames: ['target', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      await perTarget(async (target, now) => {
        const { decision } = await decideTarget(deps.db, target, now);
        const open = decision.statuses.filter((c) => !c.meets);
        const refused = open.filter((c) => c.jobs.some((j) => j.state === 'failed')).length;
        this.set({ target: target.name, state: 'refused' }, refused);
        this.set({ target: target.name, state: 'waiting' }, open.length - refused);
      });
    },
  });
  new Gauge({
    name: 'dlrn_promotion_decisions',
    help: 'Automatic promotion decisions recorded, by target and mode (promoted, dry_run)',
    labelNames: ['target', 'mode'],
    registers: [registry],
    async collect() {
      this.reset();
      await perTarget(async (target) => {
        for (const d of await listDecisions(deps.db, target.name, 10_000))
          this.inc({ target: target.name, mode: d.dryRun ? 'dry_run' : 'promoted' });
      });
    },
  });
  new Gauge({
    name: 'dlrn_promotion_vote_to_promotion_seconds',
    help: "Seconds from the newest automatic promotion's last required vote to its decision",
    labelNames: ['target'],
    registers: [registry],
    async collect() {
      this.reset();
      await perTarget(async (target) => {
        const [newest] = await listDecisions(deps.db, target.name, 1);
        const votes = ((newest?.evidence as CandidateStatus | undefined)?.jobs ?? []).flatMap((j) =>
          'timestamp' in j && (j.state === 'passed' || j.state === 'alternative') ? [j.timestamp] : [],
        );
        if (newest && votes.length) this.set({ target: target.name }, newest.decidedAt - Math.max(...votes));
      });
    },
  });
};

/** The API's registry, its request-timing middleware, and the `/metrics` handler. */
export const createMetrics = (deps: ApiDeps) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requestTime = new Summary({
    name: 'dlrn_request_processing_seconds',
    help: 'Time spent processing request',
    // Python's Summary keeps a count and a sum, no quantiles (which cost a digest per request).
    percentiles: [],
    registers: [registry],
  });
  // Python's client publishes when each Summary began, as `<name>_created` (a gauge).
  new Gauge({
    name: 'dlrn_request_processing_seconds_created',
    help: 'Time spent processing request',
    registers: [registry],
  }).set(Date.now() / 1000);
  registerBuildMetrics(registry, deps);
  if (deps.temporal) registerPipelineMetrics(registry, deps.temporal);
  if (deps.config.promotions.criteriaFile) registerPromotionMetrics(registry, deps);

  /** Koa middleware timing every request. */
  const timeRequests = async (_ctx: Context, next: Next): Promise<void> => {
    const end = requestTime.startTimer();
    try {
      await next();
    } finally {
      end();
    }
  };

  const serve = async (ctx: Context): Promise<void> => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  };

  return { registry, timeRequests, serve };
};
