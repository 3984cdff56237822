/** Another instance's hashed repository, as a remote import reads it: files served over HTTP. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';

interface Teardown {
  teardown(fn: () => Promise<void>): void;
}

/** Serves `dir` on a free loopback port until `close`; 404 for what is not there. */
export const serveDirectory = async (
  dir: string,
): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> => {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    readFile(normalize(join(dir, decodeURIComponent(req.url ?? '/')))).then(
      (body) => res.end(body),
      () => {
        res.statusCode = 404;
        res.end('not found');
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
};

/** A remote build of `python-remote` at `hash` that failed there (a commit.yaml, no RPM), served over HTTP. */
export const serveFailedRemoteBuild = async (t: Teardown, hash: string): Promise<string> => {
  const remote = await mkdtemp(join(tmpdir(), 'dlrnt-remote-build-'));
  t.teardown(() => rm(remote, { recursive: true, force: true }));
  await writeFile(
    join(remote, 'commit.yaml'),
    `commits:\n- commit_hash: '${hash}'\n  distro_hash: '${'d'.repeat(40)}'\n  dt_build: '1441700000'\n  dt_commit: '1441690000.0'\n` +
      `  dt_distro: '1441690000'\n  notes: 'remote failure'\n  project_name: 'python-remote'\n  status: 'FAILED'\n  artifacts: 'None'\n`,
  );
  const served = await serveDirectory(remote);
  t.teardown(() => served.close());
  return served.url;
};
