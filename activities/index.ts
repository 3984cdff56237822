/**
 * Every side effect the workflows need, built from injected dependencies. The worker calls
 * createActivities once; workflows see only the `Activities` type.
 */
import type { ActivityDeps } from './deps.ts';
import { listPackages, packageStatus, recheckPackages } from './discovery.ts';
import { buildRpm } from './build/drivers.ts';
import { withBuildScope } from './build/process.ts';
import { preprocess } from './build/preprocess.ts';
import { recordResult, type RecordInput } from './build/record.ts';
import { buildSrpm } from './build/srpm.ts';
import { pidDirOf, prepareSources, removeWorkspace } from './build/workspace.ts';
import { withFailures } from './failures.ts';
import { withHeartbeats } from './heartbeat.ts';
import { claimBuild } from './build/claim.ts';
import { awaitBuild } from './build/join.ts';
import { sendFailureMail, type FailureMailInput } from './notify/mail.ts';
import { rsyncBuild, type RsyncInput } from './notify/rsync.ts';
import { submitReview, type ReviewInput } from './notify/gerrit.ts';
import { postBuild, type PostBuildInput } from './repo/post-build.ts';
import { generateReports, type ReportsInput } from './repo/reports.ts';
import { applyPurgeSteps, planPurge, removeAggregates, type PurgePlanInput } from './repo/purge.ts';
import type { PurgeAction } from '../lib/domain/purge.ts';
import { fetchRemoteCommits, prepareImport, type RemoteCommit } from './remote/import.ts';
import {
  aggregateBatch,
  aggregatePromotion,
  deletePromotion,
  promoteItem,
  recordPromotion,
  restoreAggregate,
  restorePromotion,
  setPromotionAggregate,
  settleBatchAggregate,
  switchPromotion,
  undoPromoteItem,
  type PromotedItem,
  type PromoteItemInput,
  type PromotionRow,
} from './repo/promotions.ts';
import type { PromotionLink } from '../lib/repo/promote.ts';
import { postWebhook, webhookTargets, type WebhookEvent } from './notify/webhook.ts';
import { inspectWorker } from './inspect-worker.ts';
import { runProgram, type RunProgramInput } from './run-program.ts';
import { removeRunManifest } from './run-manifest.ts';
import { loadQueue, planRun, type PlanRunInput } from './plan-run.ts';
import { withTimings } from './timings.ts';
import {
  decidePromotion,
  promoteCandidate,
  recordAutomaticPromotion,
  type PromoteCandidateInput,
} from './promotion/auto.ts';
import type { DriverRun } from './pkginfo/index.ts';
import type { BuildJob } from '../lib/domain/build.ts';
import type { PackageInfo } from '../lib/domain/packages.ts';

export type { ActivityDeps } from './deps.ts';
export type { WorkerInspection } from './inspect-worker.ts';
export type {
  DiscoverInput,
  DiscoverResult,
  OrderResult,
  PackageStatus,
  RecheckResult,
} from './discovery.ts';
export type { DriverRun } from './pkginfo/index.ts';
export type { RunProgramInput, RunProgramResult } from './run-program.ts';
export type { RunManifest } from './run-manifest.ts';
export type { ActivityTiming } from './timings.ts';
export type { DiscoveryProgress, PlanRunInput, QueuedCommit, QueuedJob, RunPlan } from './plan-run.ts';
export type { RpmResult } from './build/drivers.ts';
export type { AggregateBatch, PromotionDecision, PromoteCandidateResult } from './promotion/auto.ts';
export type { PreprocessResult } from './build/preprocess.ts';
export type { RecordInput } from './build/record.ts';
export type { SrpmResult } from './build/srpm.ts';
export type { Workspace } from './build/workspace.ts';
export type { BuildClaim, ExistingBuild } from './build/claim.ts';
export type { JoinedBuild } from './build/join.ts';
export type { BuildHeartbeat } from './build/process.ts';
export type { PostBuildInput, PostBuildResult, PublishedPackage } from './repo/post-build.ts';
export type { ReportsInput } from './repo/reports.ts';
export type { PurgePlan, PurgePlanInput, PurgeListing } from './repo/purge.ts';
export type { RemoteCommit, ImportDecision } from './remote/import.ts';
export type { PromotedItem, PromoteItemInput, PromotionRow } from './repo/promotions.ts';
export type { WebhookEvent, WebhookEventType } from './notify/webhook.ts';
export type { PromotionLink } from '../lib/repo/promote.ts';
export type { FailureMailInput, FailureMailResult } from './notify/mail.ts';
export type { RsyncInput, RsyncResult } from './notify/rsync.ts';

export const createActivities = (deps: ActivityDeps) =>
  withTimings(
    withFailures(
      withHeartbeats({
        inspectWorker: () => inspectWorker(deps),
        listPackages: (driverRun: DriverRun) => listPackages(deps, driverRun),
        packageStatus: (packages: PackageInfo[]) => packageStatus(deps, packages),
        recheckPackages: (input: { names: string[]; force: boolean }) => recheckPackages(deps, input),
        runProgram: (input: RunProgramInput) => runProgram(deps, input),
        planRun: (input: PlanRunInput) => planRun(deps, input),
        loadQueue: (input: { manifest: string; from: number; to: number }) => loadQueue(deps, input),
        removeRunManifest: (ref: string) => removeRunManifest(deps, ref),
        claimBuild: (job: BuildJob) => claimBuild(deps, job),
        awaitBuild: (workflowId: string) => awaitBuild(workflowId),
        prepareSources: (job: BuildJob) =>
          withBuildScope(job, pidDirOf(deps, job), () => prepareSources(deps, job)),
        preprocess: (job: BuildJob) => withBuildScope(job, pidDirOf(deps, job), () => preprocess(deps, job)),
        buildSrpm: (job: BuildJob) => withBuildScope(job, pidDirOf(deps, job), () => buildSrpm(deps, job)),
        buildRpm: (input: { job: BuildJob; srpm: string }) =>
          withBuildScope(input.job, pidDirOf(deps, input.job), () => buildRpm(deps, input)),
        recordResult: (input: RecordInput) => recordResult(deps, input),
        removeWorkspace: (job: BuildJob) => removeWorkspace(deps, job),
        postBuild: (input: PostBuildInput) => postBuild(deps, input),
        generateReports: (input: ReportsInput) => generateReports(deps, input),
        sendFailureMail: (input: FailureMailInput) => sendFailureMail(deps, input),
        rsyncBuild: (input: RsyncInput) => rsyncBuild(deps, input),
        submitReview: (input: ReviewInput) =>
          withBuildScope(input.job, undefined, () => submitReview(deps, input)),
        planPurge: (input: PurgePlanInput) => planPurge(deps, input),
        applyPurgeSteps: (input: { action: PurgeAction; ids: number[] }) => applyPurgeSteps(deps, input),
        removeAggregates: (dirs: string[]) => removeAggregates(deps, dirs),
        fetchRemoteCommits: (repoUrl: string) => fetchRemoteCommits(deps, repoUrl),
        prepareImport: (input: { repoUrl: string; remote: RemoteCommit }) => prepareImport(deps, input),
        promoteItem: (input: PromoteItemInput) => promoteItem(deps, input),
        undoPromoteItem: (input: PromoteItemInput & PromotedItem) => undoPromoteItem(deps, input),
        aggregateBatch: (input: { name: string; promotionId: number }) => aggregateBatch(deps, input),
        settleBatchAggregate: (input: { name: string }) => settleBatchAggregate(deps, input),
        switchPromotion: (link: PromotionLink) => switchPromotion(deps, link),
        restorePromotion: (input: { link: string; previous: string | null }) => restorePromotion(deps, input),
        recordPromotion: (row: PromotionRow) => recordPromotion(deps, row),
        deletePromotion: (id: number) => deletePromotion(deps, id),
        setPromotionAggregate: (input: { id: number; hash: string }) => setPromotionAggregate(deps, input),
        aggregatePromotion: (name: string) => aggregatePromotion(deps, name),
        restoreAggregate: (input: { name: string; previous: (string | null)[] }) =>
          restoreAggregate(deps, input),
        decidePromotion: (input: { target: string }) => decidePromotion(deps, input),
        promoteCandidate: (input: PromoteCandidateInput) => promoteCandidate(deps, input),
        recordAutomaticPromotion: (input: Parameters<typeof recordAutomaticPromotion>[1]) =>
          recordAutomaticPromotion(deps, input),
        webhookTargets: () => webhookTargets(deps),
        postWebhook: (input: { url: string; event: WebhookEvent }) => postWebhook(deps, input),
      }),
      deps.config.default.datadir,
    ),
    deps.timingsFile,
  );

export type Activities = ReturnType<typeof createActivities>;
