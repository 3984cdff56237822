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

// Each test result line ("✔ title", "✘ [fail]: title", "- [skip] title") is counted and the
// counts are printed as one plain closing line, "N passed, N failed", which CI systems read
// whatever the runner.
const counts = { passed: 0, failed: 0, skipped: 0 };
let partial = '';
const countLine = (line: string) => {
  const text = line.replace(new RegExp(String.raw`\x1b\[[0-9;]*m`, 'g'), '').trim();
  if (text.startsWith('✔')) counts.passed++;
  else if (text.startsWith('✘')) counts.failed++;
  else if (text.startsWith('- [skip]')) counts.skipped++;
};
const child = spawn(command, args, { stdio: ['inherit', 'pipe', 'inherit'], env });
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  const lines = (partial + chunk.toString('utf8')).split('\n');
  partial = lines.pop() ?? '';
  lines.forEach(countLine);
});
const forward = (signal: NodeJS.Signals) => child.kill(signal);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
const code = await new Promise<number>((r) => child.on('close', (c, s) => r(c ?? (s ? 1 : 0))));
countLine(partial);
await stopAll();
if (code !== 0 && counts.failed === 0) counts.failed = 1; // the runner failed outside any test
console.log(
  `${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}`,
);
if (code === 0) await rm(dir, { recursive: true, force: true });
else console.error(`test services: logs kept in ${dir}`);
process.exit(code);
