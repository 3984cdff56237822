/**
 * deploy/ is checked by deploy/validate.sh with the tools that read each file: systemd-analyze,
 * nginx, docker-compose's own parser and the Compose schema, shellcheck, the project's config
 * loader. The Temporal server's own config checks run only where scripts/temporal-cluster.sh
 * build has made the server binary (minutes of Go compiling), so they may be skipped here.
 * The test installs nothing: scripts/bootstrap.sh has put the PyPI tools in .tools/
 * (deploy/tools.sh), and every check but the Temporal server's must run.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../lib/paths.ts';

const exec = promisify(execFile);

test('every file under deploy/ validates', async (t) => {
  const { stdout } = await exec('bash', [resolve(PROJECT_ROOT, 'deploy', 'validate.sh')], {
    cwd: PROJECT_ROOT,
    timeout: 300_000,
  }).catch((err: { stdout?: string; stderr?: string }) => {
    t.fail(`deploy/validate.sh failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    return { stdout: '' };
  });
  t.regex(stdout, /validate: \d+ ok, \d+ skipped, 0 invalid/);
  for (const check of [
    /ok {4}systemd: systemd-analyze verify dlrn-worker@1 dlrn-api temporal-server/,
    /ok {4}nginx: nginx -t on dlrn\.conf with dlrn-upstream\.conf/,
    /ok {4}compose: compose\.yaml matches the Compose Specification schema/,
    /ok {4}compose: docker-compose 1\.29\.2 config accepts compose\.yaml/,
    /ok {4}ini: projects\.ini\.cluster loads/,
    /ok {4}shell: shellcheck on/,
  ]) {
    t.regex(stdout, check);
  }
});
