/**
 * The static reports, opened in Debian's headless Chromium: the table rows a person sees.
 */
import test from 'ava';
import { renderedDom, tableRows } from '../helpers/chromium.ts';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateReports } from '../../activities/repo/reports.ts';
import { parseConfig } from '../../lib/config/index.ts';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/logger.ts';

let dir: string;
let db: Database;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dlrnt-reports-'));
});
test.after.always(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

const dom = (file: string) => renderedDom(`file://${file}`);
const rowsOf = tableRows;

test('report.html, status_report.html, status_report.csv and queue.html show the builds', async (t) => {
  const datadir = join(dir, 'data');
  const config = parseConfig(
    `[DEFAULT]\ndatadir=${datadir}\ndatabase_connection=sqlite:///${dir}/c.sqlite\nproject_name=Demo Trunk\nreponame=delorean\ntarget=centos9\nsource=master\n`,
  );
  db = await openDatabase(config.default.databaseConnection);
  const T = 1_735_689_600;
  const row = (
    projectName: string,
    commitHash: string,
    status: string,
    dtBuild: number,
    artifacts: string | null = null,
  ) =>
    db.models.Commit.create({
      projectName,
      commitHash,
      distroHash: `d${commitHash}`,
      status,
      dtBuild,
      dtCommit: dtBuild - 100,
      artifacts,
      notes: status === 'SUCCESS' ? 'OK' : 'failed',
    });
  await row(
    'alpha',
    'a1aaaaaa',
    'SUCCESS',
    T,
    'repos/a1/aa/a1aaaaaa_da1aaaaa/alpha-1.0-1.noarch.rpm,repos/a1/aa/a1aaaaaa_da1aaaaa/alpha-1.0-1.src.rpm',
  );
  await row('beta', 'b1bbbbbb', 'SUCCESS', T + 10, 'repos/b1/bb/b1bbbbbb_db1bbbbb/beta-2.0-1.noarch.rpm');
  await row('beta', 'b2bbbbbb', 'FAILED', T + 20);
  await row('beta', 'b3bbbbbb', 'FAILED', T + 30);
  await row('gamma', 'c1cccccc', 'FAILED', T + 40);
  await row('gamma', 'c2cccccc', 'RETRY', T + 50);
  const pending = [
    {
      projectName: 'delta',
      commitHash: 'e1eeeeee',
      distroHash: 'x',
      extendedHash: null,
      dtCommit: T,
      type: 'rpm' as const,
      dtDistro: 0,
      dtExtended: 0,
      commitBranch: 'master',
      repoDir: null,
      distgitDir: '',
      component: null,
      versionsCsv: null,
    },
  ];
  await generateReports(
    { config, db, logger: createLogger({ name: 'test', level: 'error' }) },
    { upstreams: { alpha: 'https://github.com/example/alpha' }, pending, now: T + 3 * 86_400 + 60 },
  );
  const repos = join(datadir, 'repos');

  const report = await dom(join(repos, 'report.html'));
  t.regex(report, /<title>Demo Trunk Packaging By DLRN<\/title>/);
  // DLRN's heading and table: its id, column names and the failure row's class.
  t.regex(report, /<h1>Delorean - Centos9 \(master\)<\/h1>/);
  t.regex(report, /<th>Build Date Time<\/th><th>Commit Date Time<\/th><th>Project Name<\/th>/);
  t.regex(report, /<tr class="failure">\s*<td>2025-01-01 00:00:40<\/td>/);
  const builds = rowsOf(report, 'dlrn');
  t.is(builds.length, 5, 'RETRY rows are not listed');
  t.is(builds[0], '2025-01-01 00:00:40 2024-12-31 23:59:00 gamma c1cccccc FAILED repo build log');
  t.regex(builds.at(-1) ?? '', /alpha a1aaaaaa SUCCESS repo build log$/);
  t.regex(report, /<a href="https:\/\/github.com\/example\/alpha\/commit\/a1aaaaaa">a1aaaaaa<\/a>/);

  const status = rowsOf(await dom(join(repos, 'status_report.html')), 'status');
  t.deepEqual(status, [
    'alpha alpha-1.0-1 a1aaaaaa SUCCESS',
    'beta beta-2.0-1 b3bbbbbb FAILED b2bbbbbb 3',
    'gamma c2cccccc RETRY c1cccccc Never',
  ]);
  t.deepEqual((await readFile(join(repos, 'status_report.csv'), 'utf8')).trim().split('\n'), [
    'Project,Source Sha,Dist Sha,Extended Sha,Component,Status,Timestamp,Packages',
    `alpha,a1aaaaaa,da1aaaaaa,None,None,SUCCESS,${T},repos/a1/aa/a1aaaaaa_da1aaaaa/alpha-1.0-1.noarch.rpm|repos/a1/aa/a1aaaaaa_da1aaaaa/alpha-1.0-1.src.rpm`,
    `beta,b3bbbbbb,db3bbbbbb,None,None,FAILED,${T + 30},`,
    `gamma,c2cccccc,dc2cccccc,None,None,RETRY,${T + 50},`,
  ]);
  t.deepEqual(rowsOf(await dom(join(repos, 'queue.html')), 'queue'), ['2025-01-01 00:00:00 delta e1eeeeee']);
  t.true((await readFile(join(repos, 'styles.css'), 'utf8')).includes('border-collapse'));
});
