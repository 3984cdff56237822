/**
 * Makes the README's pictures from a real run: the demo built by dlrn in local mode, one of its
 * packages made to fail once with a transient error (a mirror that does not resolve) so that
 * Temporal retries its build, then headless Chromium photographs the report page and that build
 * in the Temporal Web UI (served by dlrn-server on the run's own history).
 *
 *   node --import tsx scripts/screenshots.ts [OUT_DIR]     (default: docs/images)
 *
 * Needs what scripts/bootstrap.sh installs; takes about two minutes (the retry waits 30 s).
 */
import { spawn, execFile } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../lib/paths.ts';
import { commitFiles } from './demo/git-repo.ts';
import { makeDemo } from './make-demo.ts';

const exec = promisify(execFile);
const FLAKY = 'demo-client';
// Ports of their own, so a demo or a test running beside this one is left alone.
const PORTS = { temporal: 17233, ui: 18233, api: 15000 };

const log = (message: string) => process.stderr.write(`screenshots: ${message}\n`);

const photograph = async (url: string, file: string, size: string): Promise<void> => {
  const profile = await mkdtemp(join(tmpdir(), 'dlrn-shot-chromium-'));
  try {
    await exec(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        '--no-first-run',
        '--disable-background-networking',
        `--user-data-dir=${profile}`,
        `--window-size=${size}`,
        '--virtual-time-budget=20000',
        `--screenshot=${file}`,
        url,
      ],
      { timeout: 120_000 },
    );
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
  // Chromium exits 0 even when it could not write the file.
  log(`wrote ${file} (${(await stat(file)).size} bytes)`);
};

const waitFor = async (url: string, seconds: number): Promise<void> => {
  for (let i = 0; i < seconds * 4; i++) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer in ${seconds} s`);
};

const main = async () => {
  const out = resolve(process.argv[2] ?? join(PROJECT_ROOT, 'docs', 'images'));
  await mkdir(out, { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), 'dlrn-shots-'));
  const demo = join(dir, 'demo');
  const ini = await makeDemo(demo);
  await writeFile(
    ini,
    (await readFile(ini, 'utf8'))
      .replace('local_port=7233', `local_port=${PORTS.temporal}`)
      .replace('ui_port=8233', `ui_port=${PORTS.ui}`),
  );
  await appendFile(ini, `\n[api]\nport=${PORTS.api}\n`);
  // The first attempt of demo-client's build cannot reach its mirror; the second can.
  const counter = join(dir, 'attempts');
  await commitFiles(
    join(demo, 'upstream', FLAKY),
    {
      'build.sh': `#!/bin/sh\nset -e\necho x >> ${counter}\nif [ "$(wc -l < ${counter})" -le 1 ]; then echo "curl: (6) Could not resolve host: mirror.example" >&2; exit 1; fi\nmkdir -p share\ncp README share/README\ncp CHANGES share/CHANGES\n`,
    },
    1_735_700_000,
    'Fetch the translations at build time',
  );
  const bin = (name: string) => join(PROJECT_ROOT, 'bin', `${name}.js`);
  log('building the demo with dlrn (local mode)');
  await exec(bin('dlrn'), ['--config-file', ini], { maxBuffer: 64 * 1024 * 1024 });
  log('starting dlrn-server for the Web UI');
  const server = spawn(bin('dlrn-server'), ['--config-file', ini], { stdio: 'ignore' });
  try {
    const ui = `http://127.0.0.1:${PORTS.ui}`;
    await waitFor(ui, 60);
    const client = new Client({
      connection: await Connection.connect({ address: `127.0.0.1:${PORTS.temporal}` }),
    });
    let build = '';
    for await (const w of client.workflow.list({ query: `DlrnProject = "${FLAKY}"` }))
      build = `${encodeURIComponent(w.workflowId)}/${w.runId}`;
    await client.connection.close();
    if (!build) throw new Error(`no build of ${FLAKY} in Temporal`);
    await photograph(
      `${ui}/namespaces/default/workflows/${build}/history`,
      join(out, 'web-ui-retried-build.png'),
      '1400,1500',
    );
    await photograph(`file://${demo}/data/repos/report.html`, join(out, 'report.png'), '1400,700');
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
};

await main();
