/**
 * The API's HTML pages opened in headless Chromium against the API over HTTP: the rows a person
 * sees, including those the pages' script fetches from /api/graphql.
 */
import test from 'ava';
import { FIXTURE_ROWS } from '../fixtures/dlrn-database.ts';
import { PYSAML, startApi } from '../helpers/api.ts';
import { renderedDom, tableRows } from '../helpers/chromium.ts';

const [, TRIPLEO] = FIXTURE_ROWS.commits;

test('civotes.html and civotes_agg.html group the newest votes; the detail pages and report.html fill their rows from GraphQL', async (t) => {
  const api = await startApi('sqlite', t);
  await api.db.models.CiVote.create({
    commitId: PYSAML.id,
    ciName: 'phase2-ci',
    ciUrl: 'http://ci.example/2',
    ciVote: false,
    ciInProgress: false,
    timestamp: 1441635200,
    notes: 'timeout',
    user: 'ci',
    component: null,
  });

  const votes = tableRows(await renderedDom(`${api.url}/api/civotes.html`), 'votes');
  // current-ci passed, phase2-ci failed; the consistent vote is not counted.
  t.deepEqual(votes, [`${PYSAML.commit_hash} ${PYSAML.commit_hash}_024e24f0 2015-09-07 14:13:20 1 1`]);

  const agg = tableRows(await renderedDom(`${api.url}/api/civotes_agg.html`), 'votes');
  t.deepEqual(agg, [`${FIXTURE_ROWS.civotes_agg[0].ref_hash} 2015-09-07 14:11:37 1 0`]);

  const detailHtml = await renderedDom(
    `${api.url}/api/civotes_detail.html?commit_hash=${PYSAML.commit_hash}&distro_hash=${PYSAML.distro_hash}`,
  );
  const detail = tableRows(detailHtml, 'rows');
  t.is(detail.length, 3, detailHtml);
  t.true(
    detail.some(
      (r) =>
        r.startsWith(`phase2-ci ${PYSAML.commit_hash}_024e24f0`) &&
        r.includes('failed') &&
        r.includes('timeout'),
    ),
  );
  t.true(
    detail.some(
      (r) => r.startsWith('current-ci') && r.includes('http://ci.example/1') && r.includes('passed'),
    ),
  );

  const failedOnly = tableRows(
    await renderedDom(`${api.url}/api/civotes_detail.html?ci_name=phase2-ci&success=false`),
    'rows',
  );
  t.is(failedOnly.length, 1);

  const aggDetail = tableRows(
    await renderedDom(
      `${api.url}/api/civotes_agg_detail.html?ref_hash=${FIXTURE_ROWS.civotes_agg[0].ref_hash}`,
    ),
    'rows',
  );
  t.is(aggDetail.length, 1);
  t.regex(aggDetail[0] ?? '', /^phase1-ci .* passed no 2015-09-07 14:11:37/);

  const report = await renderedDom(`${api.url}/api/report.html`);
  t.regex(report, /<title>Detailed build report<\/title>/);
  const builds = tableRows(report, 'rows');
  t.is(builds.length, 3);
  t.true(
    builds.some(
      (r) => r.includes(`python-tripleoclient`) && r.includes(TRIPLEO.commit_hash) && r.includes('FAILED'),
    ),
  );
  t.regex(
    report,
    new RegExp(`href="http://trunk\\.example/centos9/3a/93/${PYSAML.commit_hash}_024e24f0/rpmbuild\\.log"`),
  );
  const successes = tableRows(
    await renderedDom(`${api.url}/api/report.html?package=python-pysaml2&success=1`),
    'rows',
  );
  t.is(successes.length, 1);
});

test('the detail pages need their parameters, and offsets must not be negative', async (t) => {
  const api = await startApi('sqlite', t);
  const detail = await api.call('GET', '/api/civotes_detail.html');
  t.is(detail.status, 400);
  t.deepEqual(detail.body, {
    message: 'Please specify either commit_hash+distro_hash, component or ci_name as parameters.',
  });
  t.deepEqual((await api.call('GET', '/api/civotes_agg_detail.html')).body, {
    message: 'Please specify either ref_hash or ci_name as parameters.',
  });
  t.is((await api.call('GET', '/api/civotes.html?offset=-1')).status, 400);
  // A later page links back to the one before it (found by the fuzz test: it was a 500).
  for (const [page, offset, previous] of [
    ['civotes.html', 1, 0],
    ['civotes_agg.html', 1, 0],
    ['civotes.html', 250, 150],
  ] as const) {
    const later = await fetch(`${api.url}/api/${page}?offset=${offset}`);
    t.is(later.status, 200, `${page}?offset=${offset}`);
    t.regex(await later.text(), new RegExp(`id="previous" href="\\?offset=${previous}"`));
  }
  const css = await fetch(`${api.url}/static/styles.css`);
  t.is(css.status, 200);
  t.regex(css.headers.get('content-type') ?? '', /text\/css/);
  t.is((await fetch(`${api.url}/static/nothing.js`)).status, 404);
});
