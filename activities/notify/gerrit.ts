/**
 * submitReview: when `gerrit` is set, a failed build opens a review on the package's distgit
 * through `<scriptsdir>/submit_review.sh` with DLRN's environment and arguments (dlrn-spec
 * §4.12), unless the package was already failing. Errors are logged, never fatal, as in DLRN.
 */
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { Op } from 'sequelize';
import { outputDirOf, type BuildJob } from '../../lib/domain/build.ts';
import { withBuildEnv } from '../build-env.ts';
import type { ActivityDeps } from '../deps.ts';
import { runLogged } from '../build/process.ts';
import { commitUrl } from '../repo/reports.ts';

export interface ReviewInput {
  job: BuildJob;
  commitId: number;
}

export const submitReview = async (
  deps: ActivityDeps,
  input: ReviewInput,
): Promise<{ submitted: boolean; exitCode?: number }> => {
  const d = deps.config.default;
  if (d.gerrit === null) return { submitted: false };
  const { job } = input;
  const previous = await deps.db.models.Commit.findOne({
    where: {
      projectName: job.commit.projectName,
      type: 'rpm',
      status: { [Op.ne]: 'RETRY' },
      id: { [Op.lt]: input.commitId },
    },
    order: [['id', 'DESC']],
  });
  if (previous && previous.getDataValue('status') !== 'SUCCESS') return { submitted: false };
  const upstream = Array.isArray(job.pkg.upstream) ? job.pkg.upstream[0] : job.pkg.upstream;
  const url = commitUrl(upstream, '') ?? '';
  const out = join(d.datadir, outputDirOf(job));
  const logUrl = `${(d.baseurl ?? '').replace(/\/$/, '')}/${outputDirOf(job).replace(/^repos\//, '')}`;
  // DLRN: env [build-env...] GERRIT_*=... submit_review.sh
  const env = withBuildEnv(job.buildEnv, {
    GERRIT_URL: `${url}${job.commit.commitHash}`,
    GERRIT_LOG: logUrl,
    GERRIT_MAINTAINERS: job.pkg.maintainers.join(','),
    GERRIT_TOPIC: d.gerritTopic,
    DLRN_SOURCE_COMMIT: job.commit.commitHash,
  });
  const distgit = await realpath(join(d.datadir, `${job.commit.projectName}_distro`)).catch(
    () => job.commit.distgitDir,
  );
  const outcome = await runLogged(
    'review',
    join(d.scriptsdir, 'submit_review.sh'),
    [job.commit.projectName, out, d.datadir, d.baseurl ?? 'None', distgit],
    { cwd: out, logFile: join(out, 'review.log'), env, timeoutSeconds: 300 },
  );
  if (outcome.exitCode !== 0)
    deps.logger.warn({ project: job.commit.projectName, exitCode: outcome.exitCode }, 'gerrit review failed');
  return { submitted: outcome.exitCode === 0, exitCode: outcome.exitCode };
};
