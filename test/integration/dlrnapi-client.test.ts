/**
 * Compatibility with DLRN's own client: `dlrnapi` from PyPI's dlrnapi-client 0.13.1 (installed in
 * .tools/venv by scripts/bootstrap.sh) drives our API over HTTP, and what it prints (the
 * response models it parsed, printed as JSON) is checked, for every command the client has.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { FIXTURE_ROWS } from '../fixtures/dlrn-database.ts';
import { PYSAML, startApi, type Api } from '../helpers/api.ts';
import { serveFailedRemoteBuild } from '../helpers/remote.ts';

const exec = promisify(execFile);
const dlrnapiBin = resolve(PROJECT_ROOT, '.tools', 'venv', 'bin', 'dlrnapi');

const dlrnapi = async (api: Api, args: string[]): Promise<{ code: number; out: string }> => {
  try {
    const { stdout, stderr } = await exec(
      dlrnapiBin,
      ['--url', api.url, '--username', 'ci', '--password', 's3cret', ...args],
      {
        timeout: 60_000,
      },
    );
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
};

const HASHES = ['--commit-hash', PYSAML.commit_hash, '--distro-hash', PYSAML.distro_hash];

test.serial(
  'repo-status, repo-get, repo-use, report-result, agg-status, repo-promote, promotion-get, build-metrics',
  async (t) => {
    const api = await startApi('sqlite', t);

    const status = await dlrnapi(api, ['repo-status', ...HASHES]);
    t.is(status.code, 0, status.out);
    t.regex(status.out, /"job_id": "current-ci"/);
    t.regex(status.out, /"job_id": "consistent"/);
    t.regex(status.out, /"success": true/);

    const get = await dlrnapi(api, ['repo-get', '--max-age', '0', '--success', 'true']);
    t.is(get.code, 0, get.out);
    t.regex(get.out, new RegExp(`"commit_hash": "${PYSAML.commit_hash}"`));
    t.regex(get.out, /"job_id": "current-ci"/);

    const use = await dlrnapi(api, ['repo-use', '--max-age', '0', '--reporting-job-id', 'phase2-ci']);
    t.is(use.code, 0, use.out);
    t.regex(use.out, /"job_id": "phase2-ci"/);
    t.regex(use.out, /"in_progress": true/);
    t.regex(use.out, /"user": "ci"/);

    const reported = await dlrnapi(api, [
      'report-result',
      ...HASHES,
      '--job-id',
      'phase2-ci',
      '--info-url',
      'http://ci.example/42',
      '--timestamp',
      '1441901400',
      '--success',
      'true',
      '--notes',
      'all good',
    ]);
    t.is(reported.code, 0, reported.out);
    t.regex(reported.out, /"url": "http:\/\/ci\.example\/42"/);
    t.regex(reported.out, /"notes": "all good"/);
    t.is(await api.db.models.CiVote.count({ where: { ciName: 'phase2-ci', ciVote: true } }), 1);

    const agg = await dlrnapi(api, ['agg-status', '--agg-hash', FIXTURE_ROWS.civotes_agg[0].ref_hash]);
    t.is(agg.code, 0, agg.out);
    t.regex(agg.out, /"job_id": "phase1-ci"/);

    const promoted = await dlrnapi(api, ['repo-promote', ...HASHES, '--promote-name', 'tripleo-ci-testing']);
    t.is(promoted.code, 0, promoted.out);
    t.regex(promoted.out, /"promote_name": "tripleo-ci-testing"/);
    t.regex(promoted.out, new RegExp(`"repo_hash": "${PYSAML.commit_hash}_024e24f0"`));

    const promotions = await dlrnapi(api, ['promotion-get', '--promote-name', 'tripleo-ci-testing']);
    t.is(promotions.code, 0, promotions.out);
    t.regex(promotions.out, /"promote_name": "tripleo-ci-testing"/);
    t.notRegex(promotions.out, /current-passed-ci/);

    const metrics = await dlrnapi(api, [
      'build-metrics',
      '--start-date',
      '2015-09-07',
      '--end-date',
      '2015-09-08',
    ]);
    t.is(metrics.code, 0, metrics.out);
    t.regex(metrics.out, /"succeeded": 1/);
    t.regex(metrics.out, /"failed": 1/);
    t.regex(metrics.out, /"total": 2/);
  },
);

test.serial('the client shows our errors: an unknown commit, a reserved name, bad credentials', async (t) => {
  const api = await startApi('sqlite', t);
  const unknown = await dlrnapi(api, ['repo-status', '--commit-hash', 'abc', '--distro-hash', 'def']);
  t.not(unknown.code, 0);
  t.regex(unknown.out, /400/);
  t.regex(unknown.out, /commit_hash\+distro_hash\+extended_hash combination not found/);

  const reserved = await dlrnapi(api, ['repo-promote', ...HASHES, '--promote-name', 'consistent']);
  t.not(reserved.code, 0);
  t.regex(reserved.out, /403/);

  const { code, out } = await (async () => {
    try {
      await exec(dlrnapiBin, [
        '--url',
        api.url,
        '--username',
        'ci',
        '--password',
        'wrong',
        'repo-promote',
        ...HASHES,
        '--promote-name',
        'x',
      ]);
      return { code: 0, out: '' };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout + e.stderr };
    }
  })();
  t.not(code, 0);
  t.regex(out, /401/);
});

test.serial('repo-promote-batch runs the saga and commit-import the import workflow', async (t) => {
  const api = await startApi('sqlite', t, { temporal: true });
  const batch = await dlrnapi(api, [
    'repo-promote-batch',
    '--hash-pairs',
    `${PYSAML.commit_hash}_${PYSAML.distro_hash}`,
    '--promote-name',
    'tripleo-ci-testing',
  ]);
  t.is(batch.code, 0, batch.out);
  t.regex(batch.out, /"promote_name": "tripleo-ci-testing"/);
  t.is(
    await api.db.models.Promotion.count({ where: { promotionName: 'tripleo-ci-testing', user: 'ci' } }),
    1,
  );

  const hash = 'feedbeef00000000000000000000000000000002';
  const repoUrl = await serveFailedRemoteBuild(t, hash);
  const imported = await dlrnapi(api, ['commit-import', '--repo-url', repoUrl]);
  t.is(imported.code, 0, imported.out);
  t.regex(imported.out, new RegExp(`"repo_url": "${repoUrl.replace(/[./]/g, '\\$&')}"`));
  t.is(await api.db.models.Commit.count({ where: { commitHash: hash, status: 'FAILED' } }), 1);
});
