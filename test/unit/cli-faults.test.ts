/**
 * What a person reads of an error that is not one of ours (cli/errors.ts): one line, never a
 * stack trace, naming a system call's refusal, a Temporal or a database that does not answer.
 */
import test from 'ava';
import { mkdir } from 'node:fs/promises';
import { describeFault } from '../../cli/errors.ts';

test('a system call refused is its own words; a silent Temporal or database says so; the rest is unexpected', async (t) => {
  const refused = await mkdir('/proc/no-such/dir').catch((err: unknown) => err);
  t.regex(describeFault(refused), /^ENOENT: no such file or directory, mkdir '\/proc\/no-such\/dir'$/);
  const grpc = Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
    code: 14,
    details: 'No connection established',
  });
  t.is(
    describeFault(new Error('workflow start failed', { cause: grpc })),
    'Temporal is not answering: No connection established',
  );
  const db = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
    name: 'SequelizeConnectionRefusedError',
  });
  t.is(describeFault(db), 'the database is not answering: connect ECONNREFUSED 127.0.0.1:5432');
  t.is(
    describeFault(new TypeError("Cannot read properties of undefined (reading 'x')")),
    "unexpected error: Cannot read properties of undefined (reading 'x') (run with --debug for its stack trace)",
  );
  t.notRegex(describeFault(new Error('boom')), /\n/);
});
