/**
 * `npm test` runs ava through this: it starts the Temporal dev server, PostgreSQL and MariaDB
 * once (the SDK's own createLocal gives a server only seconds to start), exports their
 * addresses to the tests as DLRN_TEST_* variables, runs the command, and stops everything.
 *
 *   node --import tsx test/harness/with-services.ts ava [ava args...]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMariadb, startPostgres, startTemporal } from './services.ts';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: with-services.ts COMMAND [ARGS...]');
  process.exit(2);
}

const dir = await mkdtemp(join(tmpdir(), 'dlrnt-services-'));
const started = Date.now();
const results = await Promise.allSettled([startTemporal(dir), startPostgres(dir), startMariadb(dir)]);
const services = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
const stopAll = async () => {
  await Promise.allSettled(services.map((s) => s.stop()));
};
const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
if (failed.length > 0) {
  for (const err of failed) console.error(`test services: ${err.message}`);
  console.error(`test services: logs are in ${dir}`);
  await stopAll();
  process.exit(1);
}
const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  DLRN_TEST_SERVICES_DIR: dir,
};
for (const service of services) Object.assign(env, service.env);
console.error(
  `test services ready in ${Date.now() - started} ms: ${services.map((s) => `${s.name} ${Object.values(s.env).join(' ')}`).join(', ')}`,
);

// ava's summary ("41 tests passed", "2 tests failed") is echoed as one plain closing line,
// "N passed, N failed", which CI systems read whatever the runner.
let tail = '';
const child = spawn(command, args, { stdio: ['inherit', 'pipe', 'inherit'], env });
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString('utf8')).slice(-4096);
});
const forward = (signal: NodeJS.Signals) => child.kill(signal);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
const code = await new Promise<number>((r) => child.on('close', (c, s) => r(c ?? (s ? 1 : 0))));
await stopAll();
const count = (word: string): number => {
  const plain = tail.replace(new RegExp(String.raw`\x1b\[[0-9;]*m`, 'g'), '');
  return Number(new RegExp(String.raw`(\d+) (?:tests? |known failures? )?${word}`).exec(plain)?.[1] ?? 0);
};
const passedCount = count('passed');
const failedCount = count('failed') + (code !== 0 && count('failed') === 0 && passedCount === 0 ? 1 : 0);
console.log(
  `${passedCount} passed, ${failedCount} failed${count('skipped') ? `, ${count('skipped')} skipped` : ''}`,
);
if (code === 0) await rm(dir, { recursive: true, force: true });
else console.error(`test services: logs kept in ${dir}`);
process.exit(code);
