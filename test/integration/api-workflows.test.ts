/**
 * API endpoints that start workflows, on the harness's Temporal server: DLRN's
 * `POST /api/remote/import` (the importCommit workflow) and our `POST /api/trigger`.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- JSON responses */
import test from 'ava';
import { defaultPayloadConverter } from '@temporalio/common';
import type { RunInput } from '../../workflows/run.ts';
import { startApi } from '../helpers/api.ts';
import { serveFailedRemoteBuild } from '../helpers/remote.ts';

test('remote/import imports a remote build over http and refuses other URLs', async (t) => {
  const api = await startApi('sqlite', t, { temporal: true });
  const hash = 'feedface00000000000000000000000000000001';
  const repoUrl = await serveFailedRemoteBuild(t, hash);

  const imported = await api.call('POST', '/api/remote/import', { auth: true, body: { repo_url: repoUrl } });
  t.is(imported.status, 201, JSON.stringify(imported.body));
  t.deepEqual(imported.body, { repo_url: repoUrl });
  const row = await api.db.models.Commit.findOne({ where: { commitHash: hash } });
  t.like(row?.get({ plain: true }), {
    projectName: 'python-remote',
    status: 'FAILED',
    notes: 'remote failure',
    dtBuild: 1441700000,
  });

  t.is(
    (await api.call('POST', '/api/remote/import', { auth: true, body: { repo_url: 'file:///etc' } })).status,
    400,
  );
  t.is((await api.call('POST', '/api/remote/import', { auth: true, body: {} })).status, 400);
  t.is((await api.call('POST', '/api/remote/import', { body: { repo_url: repoUrl } })).status, 401);
  const missing = await api.call('POST', '/api/remote/import', {
    auth: true,
    body: { repo_url: `${repoUrl}/nothing` },
  });
  t.is(missing.status, 500);
  t.regex(missing.body.message, /^Remote import failed with error: .*commit\.yaml does not exist/);
});

test('trigger starts a run for a package, a project or all, under one workflow id per target', async (t) => {
  const api = await startApi('sqlite', t, { temporal: true });
  const started = await api.call('POST', '/api/trigger', {
    auth: true,
    body: { package_name: 'python-pysaml2' },
  });
  t.is(started.status, 201, JSON.stringify(started.body));
  t.like(started.body, { workflow_id: 'trigger:package:python-pysaml2', target: 'package:python-pysaml2' });
  const handle = api.client!.workflow.getHandle(String(started.body.workflow_id));
  t.is((await handle.describe()).type, 'run');
  const history = await handle.fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const input = defaultPayloadConverter.fromPayload<RunInput>(payload!);
  t.like(input, { mode: 'build', packageNames: ['python-pysaml2'], projectNames: [] });
  await handle.result().catch(() => undefined);

  t.is(
    (await api.call('POST', '/api/trigger', { auth: true, body: { package_name: 'a', project_name: 'b' } }))
      .status,
    400,
  );
  t.is((await api.call('POST', '/api/trigger', { body: {} })).status, 401);
  const all = await api.call('POST', '/api/trigger', { auth: true });
  t.like(all.body, { workflow_id: 'trigger:all', target: 'all' });
});

test('/metrics: DLRN build counters, request timing, process metrics and the pipeline gauges', async (t) => {
  const api = await startApi('sqlite', t, { temporal: true });
  // A newer successful build than the promoted one: current-passed-ci lags one hour behind.
  await api.db.models.Commit.create({
    type: 'rpm',
    projectName: 'python-pysaml2',
    commitHash: 'c'.repeat(40),
    distroHash: 'd'.repeat(40),
    extendedHash: null,
    dtCommit: 1441638000,
    dtDistro: 1441638000,
    dtExtended: 0,
    dtBuild: 1441635089 + 3600,
    status: 'SUCCESS',
    flags: 0,
  });
  await api.call('GET', '/api/health');
  const response = await fetch(`${api.url}/metrics`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await response.text();
  const value = (line: string) =>
    new RegExp(`^${line.replace(/[{}"./]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1];
  const baseurl = '{baseurl="http://trunk.example/centos9"}';
  t.is(value(`dlrn_builds_succeeded_total${baseurl}`), '2');
  t.is(value(`dlrn_builds_failed_total${baseurl}`), '1');
  t.is(value(`dlrn_builds_retry_total${baseurl}`), '1');
  t.is(value(`dlrn_builds_total${baseurl}`), '4');
  t.is(value('dlrn_promotion_lag_seconds{promote_name="current-passed-ci"}'), '3600');
  t.is(value('dlrn_last_build_timestamp_seconds'), String(1441635089 + 3600));
  t.is(value('dlrn_runs_running'), '0');
  t.is(value('dlrn_builds_running'), '0');
  t.is(value('dlrn_builds_queued'), '0');
  t.truthy(value('dlrn_request_processing_seconds_count'));
  // As Python's Summary: a count, a sum and when it began; no quantiles.
  t.truthy(value('dlrn_request_processing_seconds_sum'));
  const created = Number(value('dlrn_request_processing_seconds_created'));
  t.true(Math.abs(created - Date.now() / 1000) < 600, String(created));
  t.regex(text, /^# TYPE dlrn_request_processing_seconds_created gauge$/m);
  t.notRegex(text, /dlrn_request_processing_seconds\{quantile/);
  t.regex(text, /^process_cpu_user_seconds_total /m);
});
