/**
 * Generated requests against every endpoint (fast-check): parameters of every name the API reads,
 * with values of every type, size and encoding, in the query string, in JSON bodies of any shape,
 * in bodies that are not JSON, with any Authorization header. Whatever arrives, the API answers
 * without a 5xx, stays up, and a refused request (4xx) changes no row and no file.
 *
 * The API runs without Temporal here, so the three endpoints that start workflows answer 503
 * "Temporal is not configured" once their input passes: that documented answer is the one 5xx
 * allowed, and only from them.
 */
import test from 'ava';
import fc from 'fast-check';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AUTH, PYSAML, startApi, TRIPLEO, type Api } from '../helpers/api.ts';

const RUNS_PER_ENDPOINT = Number(process.env.DLRN_FUZZ_RUNS ?? 300);

const ENDPOINTS: [method: string, path: string][] = [
  ['GET', '/api/health'],
  ['POST', '/api/health'],
  ['GET', '/api/repo_status'],
  ['GET', '/api/agg_status'],
  ['GET', '/api/last_tested_repo'],
  ['POST', '/api/last_tested_repo'],
  ['POST', '/api/report_result'],
  ['POST', '/api/promote'],
  ['POST', '/api/promote-batch'],
  ['GET', '/api/promotions'],
  ['GET', '/api/components'],
  ['GET', '/api/promotion_status'],
  ['GET', '/api/promotion_status.html'],
  ['POST', '/api/waivers'],
  ['GET', '/api/waivers'],
  ['DELETE', '/api/waivers/1'],
  ['GET', '/api/metrics/builds'],
  ['POST', '/api/recheck_package'],
  ['POST', '/api/remote/import'],
  ['POST', '/api/trigger'],
  ['GET', '/api/graphql'],
  ['POST', '/api/graphql'],
  ['GET', '/api/civotes.html'],
  ['GET', '/api/civotes_agg.html'],
  ['GET', '/api/civotes_detail.html'],
  ['GET', '/api/civotes_agg_detail.html'],
  ['GET', '/api/report.html'],
  ['GET', '/metrics'],
  ['GET', '/static/dlrn-api.js'],
];
const WORKFLOW_ENDPOINTS = new Set(['/api/promote-batch', '/api/remote/import', '/api/trigger']);

const NAMES = [
  'commit_hash',
  'distro_hash',
  'extended_hash',
  'aggregate_hash',
  'ref_hash',
  'success',
  'job_id',
  'ci_name',
  'url',
  'notes',
  'timestamp',
  'max_age',
  'sequential_mode',
  'previous_job_id',
  'component',
  'promote_name',
  'offset',
  'limit',
  'package_name',
  'project_name',
  'repo_url',
  'start_date',
  'end_date',
  'query',
  'variables',
  'operationName',
  'status',
  'reason',
  'expires_at',
  'expires_in',
  'all',
];

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '../../etc/passwd',
    'current',
    'report.html',
    "x' OR '1'='1",
    '%00',
    '\u0000',
    'a\nb',
    '{ commits { id } }',
    '{"a":1}',
    'true',
    'NaN',
    '1e400',
    '-0',
    PYSAML.commit_hash,
    PYSAML.distro_hash,
    TRIPLEO.commit_hash,
    '2015-09-01',
  ),
  fc.string({ minLength: 300, maxLength: 5000 }),
);
const number = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.constantFrom(0, -1, 2 ** 31, 2 ** 53, Number.MAX_VALUE),
);
const value: fc.Arbitrary<unknown> = fc.oneof(
  text,
  number,
  fc.boolean(),
  fc.constant(null),
  fc.array(text, { maxLength: 3 }),
  fc.dictionary(fc.constantFrom(...NAMES), text, { maxKeys: 3 }),
);
const randomParams = fc.dictionary(fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 8 })), value, {
  maxKeys: 6,
});
/** Parameters that pass validation, for requests that reach the endpoints' own logic. */
const VALID: Record<string, unknown> = {
  commit_hash: PYSAML.commit_hash,
  distro_hash: PYSAML.distro_hash,
  job_id: 'fuzz-ci',
  url: 'http://ci.example/1',
  timestamp: 1441901000,
  success: true,
  max_age: 0,
  promote_name: 'fuzz-promotion',
  package_name: 'python-pysaml2',
  start_date: '2015-09-01',
  end_date: '2015-09-30',
  query: '{ commits(limit: 2) { id status } }',
};
/** The valid set with some parameters replaced by generated values and some left out. */
const mutatedParams = fc.tuple(randomParams, fc.subarray(Object.keys(VALID))).map(([changes, dropped]) => {
  const out: Record<string, unknown> = { ...VALID, ...changes };
  for (const key of dropped) if (!(key in changes)) delete out[key];
  return out;
});
const params = fc.oneof(randomParams, mutatedParams, mutatedParams);

const body = fc.oneof(
  fc.constant(undefined),
  params.map((p) => ({ type: 'application/json', text: JSON.stringify(p) })),
  fc.array(params, { maxLength: 3 }).map((p) => ({ type: 'application/json', text: JSON.stringify(p) })),
  fc.jsonValue().map((v) => ({ type: 'application/json', text: JSON.stringify(v) })),
  fc.string().map((s) => ({ type: 'application/json', text: s })),
  fc
    .tuple(
      fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1'),
      fc.string(),
    )
    .map(([type, s]) => ({ type, text: s })),
);

const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
const auth = fc.oneof(
  fc.constant(undefined),
  fc.constant(AUTH),
  fc.constant(AUTH),
  fc.constant(AUTH),
  fc.string().map((s) => basic(`ci:${s}`)),
  fc.string().map((s) => basic(s)),
  fc.string({ maxLength: 200 }).map((s) => `Basic ${s}`),
  fc.string({ maxLength: 200 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
  fc.constant('Negotiate abc'),
);

const query = (p: Record<string, unknown>): string => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(p))
    search.append(k, typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  const s = search.toString();
  return s ? `?${s}` : '';
};

/** What a refused request must leave as it was: every table's rows and the published tree. */
const fingerprint = async (api: Api): Promise<string> => {
  const tables = ['commits', 'civotes', 'civotes_agg', 'promotions', 'users', 'dlrnt_waivers'];
  const [counts] = await api.db.sequelize.query(
    `SELECT ${tables.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(', ')}, ` +
      '(SELECT SUM(flags) FROM commits) AS flags, (SELECT MAX(id) FROM civotes) AS last_vote',
  );
  const tree = await readdir(join(api.datadir, 'repos'), { recursive: true });
  return JSON.stringify([counts, tree.sort()]);
};

test('generated requests to every endpoint: no 5xx, the API stays up, refused requests change nothing', async (t) => {
  t.timeout(10 * 60_000);
  const api = await startApi('sqlite', t);
  const statuses = new Map<string, Map<number, number>>();
  let state = await fingerprint(api);
  for (const [method, path] of ENDPOINTS) {
    const seen = new Map<number, number>();
    statuses.set(`${method} ${path}`, seen);
    await fc.assert(
      fc.asyncProperty(params, body, auth, async (p, b, authorization) => {
        const headers: Record<string, string> = {};
        if (authorization !== undefined) headers.Authorization = authorization;
        if (b) headers['Content-Type'] = b.type;
        const response = await fetch(`${api.url}${path}${query(p)}`, {
          method,
          headers,
          ...(b && method !== 'GET' ? { body: b.text } : {}),
        });
        const answer = await response.text();
        seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
        const allowed503 =
          response.status === 503 &&
          WORKFLOW_ENDPOINTS.has(path) &&
          answer.includes('Temporal is not configured');
        if (response.status >= 500 && !allowed503)
          throw new Error(
            `${method} ${path}${query(p)} answered ${response.status}: ${answer.slice(0, 300)}`,
          );
        // The site as the last accepted request left it must still be there after a refusal.
        if (response.status >= 400) {
          if ((await fingerprint(api)) !== state)
            throw new Error(`${method} ${path} was refused (${response.status}) but changed the site`);
        } else state = await fingerprint(api);
      }),
      { numRuns: RUNS_PER_ENDPOINT, seed: 20261202, includeErrorInReport: true },
    );
  }
  t.is((await api.call('GET', '/api/health')).status, 200);
  const report = [...statuses].map(
    ([endpoint, seen]) => `${endpoint}: ${[...seen].map(([s, n]) => `${s}x${n}`).join(' ')}`,
  );
  t.log(`${RUNS_PER_ENDPOINT} requests per endpoint\n${report.join('\n')}`);
  t.is(statuses.size, ENDPOINTS.length);
});
