/**
 * A promotion's link (dlrn-spec §7.2, `/api/promote`): `<repos>/<name>` (or, in component mode,
 * `<repos>/component/<c>/<name>`) pointing at the commit's hashed directory, switched atomically.
 * Shared by the API's single promotion and the promote-batch saga's steps, which undo a switch
 * by putting the previous target back.
 */
import { lstat, readlink, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { DlrnConfig } from '../config/index.ts';
import type { CommitAttributes } from '../db/index.ts';
import { ForbiddenError, GoneError, InputError, ToolError } from '../domain/errors.ts';
import { PURGED_FLAG } from '../domain/purge.ts';
import { commitDir } from '../domain/repo-layout.ts';
import { switchLink, uniqueTempLink } from './links.ts';

/** Names DLRN reserves for its own links (refused with DLRN's 403). */
const RESERVED_NAMES = ['current', 'consistent'];

/** What the site writes in `repos/` itself (reports, the skiplist, component mode's folder). */
const SITE_NAMES = [
  'report.html',
  'status_report.html',
  'status_report.csv',
  'queue.html',
  'styles.css',
  'skiplist.txt',
  'component',
];

/** A file name's limit in bytes, less one: what DLRN's `<name>_` temporary link left (kept so limits do not move). */
const MAX_NAME_BYTES = 254;

/**
 * Refuses a promote name that could damage the site. As DLRN, with 403 `Invalid promote_name
 * <name>`: its reserved links, and names that are not a file of the repos folder (empty, `.`,
 * `..`, with a `/`). With 400: control characters, more bytes than a file name may hold, and
 * names of what the site writes itself: its reports and skiplist, their temporary `*.tmp` files,
 * the `<name>_` a link switch goes through, and the two-character folders of the hashed tree.
 */
export const checkPromoteName = (name: string): void => {
  if (RESERVED_NAMES.includes(name) || ['', '.', '..'].includes(name) || name.includes('/'))
    throw new ForbiddenError(`Invalid promote_name ${name}`);
  const refuse = (why: string): never => {
    throw new InputError(`Invalid promote_name ${JSON.stringify(name)}: ${why}`);
  };
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) refuse('it contains control characters');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) refuse(`it is longer than ${MAX_NAME_BYTES} bytes`);
  if (SITE_NAMES.includes(name) || name.endsWith('.tmp') || name.endsWith('_') || /^[0-9a-f]{2}$/.test(name))
    refuse('the site writes a file or folder of this name itself');
};

export interface PromotionLink {
  /** The directory the link lives in. */
  base: string;
  /** The link's path. */
  link: string;
  /** Where it will point (absolute). */
  target: string;
}

/** The repository a promotion of `commit` points at (absolute), in its component's tree. */
export const promotionTarget = (config: DlrnConfig, commit: CommitAttributes): string =>
  join(
    resolve(config.default.datadir, 'repos'),
    commitDir({
      commitHash: commit.commitHash ?? '',
      distroHash: commit.distroHash,
      extendedHash: commit.extendedHash,
      component: commit.component,
    }),
  );

/**
 * Where promoting `commit` as `name` puts the link; refuses reserved names, names that leave
 * the base directory, and purged commits, before anything is touched.
 */
export const promotionLink = (config: DlrnConfig, commit: CommitAttributes, name: string): PromotionLink => {
  checkPromoteName(name);
  if ((commit.flags ?? 0) & PURGED_FLAG)
    throw new GoneError('commit_hash+distro_hash+extended_hash has been purged, cannot promote it');
  const repos = resolve(config.default.datadir, 'repos');
  const component = config.default.useComponents ? (commit.component ?? 'None') : undefined;
  const base = component ? join(repos, 'component', component) : repos;
  const link = resolve(base, name);
  if (name === '' || dirname(link) !== base) throw new ForbiddenError(`Invalid promote_name ${name}`);
  return { base, link, target: promotionTarget(config, commit) };
};

/** Refuses (400) a promotion whose link's place holds a file or a folder, not a link. */
export const assertLinkable = async (p: PromotionLink): Promise<void> => {
  const stat = await lstat(p.link).catch(() => undefined);
  if (stat && !stat.isSymbolicLink())
    throw new InputError(
      `Invalid promote_name ${basename(p.link)}: the site holds a file or folder of that name`,
    );
};

/** Where `link` points now (as stored), or undefined when there is no link. */
export const currentTarget = async (link: string): Promise<string | undefined> => {
  const stat = await lstat(link).catch(() => undefined);
  return stat?.isSymbolicLink() ? readlink(link) : undefined;
};

/**
 * Switches the link atomically, through a temporary link of its own (many requests promote at
 * once); returns the previous target, for an undo. A file system that refuses is a ToolError
 * with DLRN's words and the error's code, naming paths from the datadir down, not the server's.
 */
export const switchPromotionLink = async (p: PromotionLink, datadir: string): Promise<string | undefined> => {
  const previous = await currentTarget(p.link);
  try {
    await switchLink(p.link, p.target, uniqueTempLink(p.link));
  } catch (err) {
    const message = (err as Error).message.split(`${resolve(datadir)}/`).join('');
    throw new ToolError(`Symlink creation failed with error: ${message}`, { cause: err });
  }
  return previous;
};

/** Puts a link back as it was before a switch: at `previous`, or gone when there was none. */
export const restorePromotionLink = async (link: string, previous: string | undefined): Promise<void> => {
  if (previous === undefined) await rm(link, { force: true });
  else await switchLink(link, resolve(dirname(link), previous), uniqueTempLink(link));
};
