/**
 * Failure mail through a real SMTP server (the smtp-server package, on loopback) that the test
 * starts and reads from.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { sendFailureMail } from '../../activities/notify/mail.ts';
import { parseConfig } from '../../lib/config/index.ts';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import type { BuildJob } from '../../lib/domain/build.ts';
import { createLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/temporal-dev-server.ts';

interface Received {
  from: string;
  to: string[];
  data: string;
}

let dir: string;
let server: SMTPServer;
let port: number;
const received: Received[] = [];
const opened: Database[] = [];

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dlrnt-mail-'));
  port = await freePort();
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (c: Buffer) => (data += c.toString()));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data,
        });
        callback();
      });
    },
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
});
test.after.always(async () => {
  await Promise.allSettled(opened.map((db) => db.close()));
  await new Promise<void>((r) => server.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

const setup = async (smtp: string) => {
  const config = parseConfig(
    `[DEFAULT]\ndatabase_connection=sqlite:///${dir}/${smtp ? 'mail' : 'nomail'}.sqlite\nbaseurl=http://trunk.example/centos9/\nproject_name=Demo Trunk\n${smtp ? `smtpserver=${smtp}` : ''}\n`,
  );
  const db = await openDatabase(config.default.databaseConnection);
  opened.push(db);
  return { config, db, logger: createLogger({ name: 'test', level: 'error' }) };
};

const job: BuildJob = {
  commit: {
    projectName: 'demo-agent',
    type: 'rpm',
    commitHash: '672d26b1f326ecc77d271b39bd8ec5fc16cea32a',
    distroHash: 'c46bfeb061fcaa2eeda893d6034d039d469e769e',
    extendedHash: null,
    dtCommit: 1,
    dtDistro: 1,
    dtExtended: 0,
    commitBranch: 'master',
    repoDir: null,
    distgitDir: '',
    component: null,
    versionsCsv: null,
  },
  dtBuild: 1_735_689_600,
  pkg: {
    name: 'demo-agent',
    upstream: 'https://git.example/demo-agent',
    masterDistgit: 'https://git.example/demo-agent-distgit',
    maintainers: ['alice@example.org', 'bob@example.org'],
  },
  buildEnv: [],
  bootstrap: false,
  verbose: false,
  usePublic: false,
};

test.serial(
  'a failed build mails its maintainers once a day with the package, commit and log URL',
  async (t) => {
    const deps = await setup(`127.0.0.1:${port}`);
    const now = 1_735_700_000;
    const result = await sendFailureMail(deps, {
      job,
      notes: 'rpmbuild --rebuild failed with exit code 1',
      now,
    });
    t.deepEqual(result, { sent: true, recipients: ['alice@example.org', 'bob@example.org'] });
    t.is(received.length, 1);
    const mail = received[0]!;
    t.is(mail.from, 'no-reply@delorean.com');
    t.deepEqual(mail.to, ['alice@example.org', 'bob@example.org']);
    t.regex(mail.data, /^Subject: \[dlrn\] demo-agent master package build failed\r?$/m);
    const html = mail.data.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    t.regex(html, /demo-agent failed to build/);
    t.regex(html, /672d26b1f326ecc77d271b39bd8ec5fc16cea32a/);
    t.regex(
      html,
      /http:\/\/trunk.example\/centos9\/67\/2d\/672d26b1f326ecc77d271b39bd8ec5fc16cea32a_c46bfeb0\/rpmbuild.log/,
    );

    t.deepEqual(await sendFailureMail(deps, { job, notes: 'again', now: now + 3600 }), {
      sent: false,
      reason: 'throttled',
    });
    t.is(received.length, 1, 'at most one mail a day per package');
    t.is(
      (await deps.db.models.Project.findOne({ where: { projectName: 'demo-agent' } }))?.getDataValue(
        'lastEmail',
      ),
      now,
    );
    t.like(await sendFailureMail(deps, { job, notes: 'next day', now: now + 86_401 }), { sent: true });
    t.is(received.length, 2);
  },
);

test.serial(
  'without smtpserver no mail goes out, and the package is marked mailed as DLRN does',
  async (t) => {
    const deps = await setup('');
    const before = received.length;
    t.deepEqual(await sendFailureMail(deps, { job, notes: 'x', now: 5_000_000 }), {
      sent: false,
      reason: 'no smtpserver',
    });
    t.is(received.length, before);
    t.is(
      (await deps.db.models.Project.findOne({ where: { projectName: 'demo-agent' } }))?.getDataValue(
        'lastEmail',
      ),
      5_000_000,
    );
  },
);
