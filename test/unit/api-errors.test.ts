/**
 * The API's error contract in one place (api/errors.ts): each domain error a handler throws
 * answers DLRN's status with its own message; HTTP's own errors keep their headers; anything
 * else answers an error id only, and the log holds the message and stack under that id.
 */
import test from 'ava';
import Koa from 'koa';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { errorMiddleware, HttpError } from '../../api/errors.ts';
import {
  ConflictError,
  DatabaseError,
  ForbiddenError,
  GoneError,
  InputError,
  NotFoundError,
  ToolError,
} from '../../lib/domain/errors.ts';

const serve = async (thrown: () => unknown) => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const app = new Koa();
  app.use(errorMiddleware(pino({ level: 'info' }, sink)));
  app.use((ctx) => {
    if (ctx.path === '/fine') ctx.body = { ok: true };
    else if (ctx.path !== '/missing') throw thrown();
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (path = '/') => {
    const response = await fetch(`${base}${path}`);
    return { status: response.status, headers: response.headers, body: await response.json() };
  };
  return { call, lines, close: () => server.close() };
};

const cases: [string, () => unknown, number][] = [
  ['InputError', () => new InputError('bad max_age'), 400],
  ['NotFoundError (400, as DLRN)', () => new NotFoundError('No vote found'), 400],
  ['GoneError', () => new GoneError('purged'), 410],
  ['ForbiddenError', () => new ForbiddenError('Invalid promote_name ..'), 403],
  ['ConflictError', () => new ConflictError('cannot recheck a successful commit'), 409],
  ['ToolError (DLRN 500 with its message)', () => new ToolError('cannot make the link'), 500],
];

for (const [name, make, status] of cases) {
  test(`${name} answers ${String(status)} with its own message`, async (t) => {
    const api = await serve(make);
    t.teardown(api.close);
    const answer = await api.call();
    t.is(answer.status, status);
    t.deepEqual(answer.body, { message: (make() as Error).message });
    // Only a server-side failure is worth an operator's attention.
    t.is(
      api.lines.some((l) => l.msg === 'request failed'),
      status >= 500,
    );
  });
}

test('HttpError keeps its status and headers; an unmatched path is a 404', async (t) => {
  const api = await serve(() => new HttpError(429, 'retry later', { 'Retry-After': '7' }));
  t.teardown(api.close);
  const limited = await api.call();
  t.is(limited.status, 429);
  t.is(limited.headers.get('retry-after'), '7');
  t.deepEqual(limited.body, { message: 'retry later' });
  const missing = await api.call('/missing');
  t.is(missing.status, 404);
  t.deepEqual(missing.body, { message: 'Not Found' });
  t.deepEqual((await api.call('/fine')).body, { ok: true });
});

for (const [name, make] of [
  ['a plain Error', () => new Error('SQLITE_ERROR: no such table: promotions at /srv/dlrn/commits.sqlite')],
  ['a domain error with no status', () => new DatabaseError('cannot open postgresql://dlrn:secret@db/dlrn')],
  ['a thrown string', () => 'connection refused'],
] as [string, () => unknown][]) {
  test(`${name} answers an error id only, and the log holds the message under that id`, async (t) => {
    const api = await serve(make);
    t.teardown(api.close);
    const answer = await api.call('/api/promotions');
    t.is(answer.status, 500);
    const message = (answer.body as { message: string }).message;
    const id = /^Internal Server Error \(error id ([0-9a-f]{16})\)$/.exec(message)?.[1];
    t.truthy(id, message);
    const logged = api.lines.find((l) => l.errorId === id);
    t.is(logged?.path, '/api/promotions');
    const thrown = make();
    t.true(JSON.stringify(logged).includes(thrown instanceof Error ? thrown.message : String(thrown)));
  });
}
