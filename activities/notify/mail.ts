/**
 * sendFailureMail: DLRN's failure notification (dlrn-spec §4.11) to the package's maintainers,
 * written as an mjml template (rendered with nunjucks, then mjml) and sent with nodemailer. At
 * most one mail per package a day (`projects.last_email`), only when `smtpserver` is set; the
 * package is marked mailed either way, as DLRN does.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { outputDirOf, type BuildJob } from '../../lib/domain/build.ts';
import type { ActivityDeps } from '../deps.ts';

export interface FailureMailInput {
  job: BuildJob;
  notes: string;
  /** Epoch seconds (the workflow's clock). */
  now: number;
}

export interface FailureMailResult {
  sent: boolean;
  /** Why no mail went out. */
  reason?: 'throttled' | 'no smtpserver' | 'no maintainers';
  recipients?: string[];
}

const DAY = 86_400;

export const sendFailureMail = async (
  deps: ActivityDeps,
  input: FailureMailInput,
): Promise<FailureMailResult> => {
  const { config, db } = deps;
  const { job } = input;
  const name = job.commit.projectName;
  const [project] = await db.models.Project.findOrCreate({
    where: { projectName: name },
    defaults: { projectName: name, lastEmail: 0 },
  });
  if (input.now - (project.getDataValue('lastEmail') ?? 0) <= DAY)
    return { sent: false, reason: 'throttled' };
  await project.update({ lastEmail: input.now });
  const server = config.default.smtpserver;
  if (!server) return { sent: false, reason: 'no smtpserver' };
  const recipients = job.pkg.maintainers.filter((m) => m.includes('@'));
  if (recipients.length === 0) return { sent: false, reason: 'no maintainers' };

  const logurl = `${(config.default.baseurl ?? '').replace(/\/$/, '')}/${outputDirOf(job).replace(/^repos\//, '')}`;
  const upstream = Array.isArray(job.pkg.upstream) ? job.pkg.upstream.join(', ') : job.pkg.upstream;
  const template = await readFile(join(config.default.templatedir, 'notification_email.mjml'), 'utf8');
  const details = {
    project_name: config.default.projectName,
    name,
    upstream,
    distgit: job.pkg.masterDistgit,
    commit_hash: job.commit.commitHash,
    distro_hash: job.commit.distroHash,
    notes: input.notes,
    logurl,
  };
  const markup = new nunjucks.Environment(null, { autoescape: true }).renderString(template, details);
  // mjml is large (0.4 s and 20 MB to load): loaded by the first mail, not by every worker.
  const { default: mjml2html } = await import('mjml');
  const { html, errors } = await mjml2html(markup, { validationLevel: 'soft' });
  if (errors.length > 0)
    deps.logger.warn({ errors: errors.map((e) => e.formattedMessage) }, 'mail template warnings');
  const [host = 'localhost', port = '25'] = server.split(':');
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({ host, port: Number(port), secure: false, ignoreTLS: true });
  await transport.sendMail({
    from: 'no-reply@delorean.com',
    to: recipients,
    subject: `[dlrn] ${name} master package build failed`,
    html,
    text: `${name} failed to build.\nCommit: ${job.commit.commitHash}\nLogs: ${logurl}\n\n${input.notes}\n`,
  });
  return { sent: true, recipients };
};
