import test from 'ava';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_ROUNDS, hashPassword, isSha512Crypt, verifyPassword } from '../../lib/auth/sha512-crypt.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';

const run = promisify(execFile);
const python = resolve(PROJECT_ROOT, '.tools', 'venv', 'bin', 'python');

// The test vectors of the SHA-crypt specification (Drepper), SHA-512 part.
const VECTORS: [password: string, salt: string, rounds: number | undefined, hash: string][] = [
  [
    'Hello world!',
    'saltstring',
    undefined,
    '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
  ],
  [
    'Hello world!',
    'saltstringsaltst',
    10000,
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
  ],
  [
    'the minimum number is still observed',
    'roundstoolow',
    10,
    '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.',
  ],
];

test('the specification vectors verify, and the wrong password does not', (t) => {
  for (const [password, , , hash] of VECTORS) {
    t.true(verifyPassword(password, hash), hash);
    t.false(verifyPassword(`${password}x`, hash), hash);
  }
});

test('hashing with a given salt and rounds gives the specification vectors', (t) => {
  for (const [password, salt, rounds, hash] of VECTORS.filter(([, , r]) => r !== undefined)) {
    t.is(hashPassword(password, { salt, ...(rounds ? { rounds } : {}) }), hash);
  }
});

test('new hashes use passlib default rounds and a fresh 16-character salt', (t) => {
  const a = hashPassword('secret', { rounds: 1000 });
  const b = hashPassword('secret', { rounds: 1000 });
  t.regex(a, /^\$6\$rounds=1000\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
  t.not(a, b);
  t.is(DEFAULT_ROUNDS, 656000);
  t.true(isSha512Crypt(a));
});

test('stored values that are not SHA-512 crypt never match', (t) => {
  for (const stored of [
    '',
    'secret',
    '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF/whatever',
    '$6$salt$short',
  ]) {
    t.false(verifyPassword('secret', stored), stored);
    t.false(isSha512Crypt(stored), stored);
  }
  t.throws(() => hashPassword('x', { salt: 'a$b' }), { instanceOf: RangeError });
});

// DLRN's users table both ways: passlib (what DLRN's dlrn-user and API use) verifies our
// hashes, and we verify passlib's, at its default rounds and at an explicit low count.
test('passlib and this module accept each other hashes', async (t) => {
  const ours = hashPassword('p4ss w0rd é');
  const script = [
    'import sys',
    'from passlib.hash import sha512_crypt',
    'print(sha512_crypt.verify(sys.argv[1], sys.argv[2]))',
    'print(sha512_crypt.hash(sys.argv[1]))',
    'print(sha512_crypt.using(rounds=5000).hash(sys.argv[1]))',
  ].join('\n');
  const { stdout } = await run(python, ['-c', script, 'p4ss w0rd é', ours]);
  const [verdict, passlibDefault, passlibLow] = stdout.trim().split('\n');
  t.is(verdict, 'True');
  t.regex(passlibDefault!, /^\$6\$rounds=656000\$/);
  t.true(verifyPassword('p4ss w0rd é', passlibDefault!));
  t.true(verifyPassword('p4ss w0rd é', passlibLow!));
  t.false(verifyPassword('p4ss w0rd', passlibLow!));
});
