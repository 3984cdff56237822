/**
 * `/api/graphql` with DLRN's schema, on a database made by DLRN's DDL with its sample-style rows.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- GraphQL JSON */
import test from 'ava';
import { FIXTURE_ROWS } from '../fixtures/dlrn-database.ts';
import { PYSAML, startApi } from '../helpers/api.ts';

const [, TRIPLEO, RETRIED] = FIXTURE_ROWS.commits;

test('commits, civote, civoteAgg and packageStatus answer as DLRN, newest first', async (t) => {
  const api = await startApi('sqlite', t);
  const gql = (query: string) => api.call('POST', '/api/graphql', { body: { query } });

  const commits = await gql(
    '{ commits(projectName: "python-pysaml2") { id commitHash status flags versionsCsv } }',
  );
  t.is(commits.status, 200, JSON.stringify(commits.body));
  t.deepEqual(
    commits.body.data.commits.map((c: { commitHash: string }) => c.commitHash),
    [RETRIED.commit_hash, PYSAML.commit_hash],
  );
  t.is(commits.body.data.commits[0].id, Buffer.from('Commit:3').toString('base64'));
  t.is(commits.body.data.commits[0].versionsCsv, RETRIED.versions_csv);
  const limited = await gql('{ commits(limit: 1, offset: 1) { id } }');
  t.is(limited.body.data.commits.length, 1);
  const like = await gql('{ commits(extendedHash: "1b4d%") { commitHash } }');
  t.deepEqual(like.body.data.commits, [{ commitHash: RETRIED.commit_hash }]);

  const votes = await gql(
    '{ civote(commitId: 1, where: { timestamp: { gt: 1441635095 } }) { ciName ciVote ciInProgress commit { projectName } } }',
  );
  t.deepEqual(votes.body.data.civote, [
    { ciName: 'consistent', ciVote: false, ciInProgress: true, commit: { projectName: 'python-pysaml2' } },
  ]);
  t.is((await gql('{ civote(ciVote: true) { ciName } }')).body.data.civote[0].ciName, 'current-ci');

  const agg = await gql('{ civoteAgg(lastRefHash: true) { refHash ciName } }');
  t.deepEqual(agg.body.data.civoteAgg, [
    { refHash: FIXTURE_ROWS.civotes_agg[0].ref_hash, ciName: 'phase1-ci' },
  ]);
  const both = await gql('{ civoteAgg(lastRefHash: true, refHash: "x") { refHash } }');
  t.regex(both.body.errors[0].message, /cannot be provided in the same query/);

  const status = await gql('{ packageStatus { id projectName status lastSuccess firstFailureCommit } }');
  t.deepEqual(status.body.data.packageStatus, [
    {
      id: '0',
      projectName: 'python-pysaml2',
      status: 'FAILED',
      lastSuccess: new Date(PYSAML.dt_build * 1000).toISOString(),
      firstFailureCommit: RETRIED.commit_hash,
    },
    {
      id: '1',
      projectName: 'python-tripleoclient',
      status: 'FAILED',
      lastSuccess: '1970-01-01T00:00:00.000Z',
      firstFailureCommit: TRIPLEO.commit_hash,
    },
  ]);
  const retry = await gql('{ packageStatus(status: "RETRY") { projectName status } }');
  t.deepEqual(retry.body.data.packageStatus, [{ projectName: 'python-pysaml2', status: 'FAILED' }]);
  const never = await gql('{ packageStatus(projectName: "python-new") { status } }');
  t.deepEqual(never.body.data.packageStatus, [{ status: 'NO_BUILD' }]);
});

test('GET with a query string works; malformed queries and unknown fields are 400s', async (t) => {
  const api = await startApi('sqlite', t);
  const viaGet = await api.call(
    'GET',
    `/api/graphql?query=${encodeURIComponent('{ commits(limit: 1) { projectName } }')}`,
  );
  t.is(viaGet.status, 200);
  t.is(viaGet.body.data.commits.length, 1);
  const unknown = await api.call('POST', '/api/graphql', { body: { query: '{ commits { nope } }' } });
  t.is(unknown.status, 400);
  t.regex(unknown.body.errors[0].message, /Cannot query field "nope"/);
  t.is((await api.call('POST', '/api/graphql', { body: { query: '{ commits {' } })).status, 400);
  t.is((await api.call('POST', '/api/graphql', { body: {} })).status, 400);
});
