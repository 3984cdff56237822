/**
 * Changing a promotion: its link and its row together, one change of a name at a time.
 *
 * DLRN switches the link and then inserts the row with nothing held, so two promotions of one
 * name can interleave and leave the link on one repository while the newest row (what CI reads
 * from `/api/promotions`) names another. Here every change of a name (a `/api/promote`, each
 * item of a promote-batch saga, each undo, component mode's aggregate) holds the name's lock:
 * in this process a queue per name, between processes and machines a lock directory under
 * `<datadir>/.locks/`. Under it the link and the newest row always agree:
 *
 * - a promotion switches the link (through a temporary link of its own), then inserts the row;
 *   when the insert fails, the link is put back before the lock is let go;
 * - an undo deletes exactly the row its step created (by id), and moves the link only when it
 *   still points where that step put it (the change is still its own): to the newest remaining
 *   row's repository, or where it was before the step when no row is left.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { DlrnConfig } from '../config/index.ts';
import { knownComponents, type Database } from '../db/index.ts';
import {
  deletePromotionStep,
  findPromotionStep,
  insertPromotionStep,
  newestPromotedCommit,
  type PromotionStepKey,
} from '../db/promotion-steps.ts';
import { withLockDir } from '../lock.ts';
import { aggregateLinks, aggregateRepoFiles } from './aggregate.ts';
import { switchLink, uniqueTempLink } from './links.ts';
import {
  currentTarget,
  promotionTarget,
  restorePromotionLink,
  switchPromotionLink,
  type PromotionLink,
} from './promote.ts';

interface Deps {
  config: DlrnConfig;
  db: Database;
}

/** The tail of each name's queue in this process. */
const queues = new Map<string, Promise<unknown>>();

/**
 * Runs `work` holding the lock of promotion name `name`: queued behind this process's other
 * changes of the name, then the name's lock directory, shared with other processes.
 */
export const withPromotionLock = <T>(
  config: DlrnConfig,
  name: string,
  work: () => Promise<T>,
): Promise<T> => {
  const key = createHash('sha256').update(name).digest('hex').slice(0, 24);
  const lockPath = join(config.default.datadir, '.locks', `promote-${key}.lock`);
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(
    () => withLockDir(lockPath, { lockPath, staleMs: 30_000 }, work),
    () => withLockDir(lockPath, { lockPath, staleMs: 30_000 }, work),
  );
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
};

/** The columns of a promotion row, as DLRN stores them. */
export interface PromotionRow {
  commitId: number;
  promotionName: string;
  timestamp: number;
  user: string | null;
  component: string | null;
}

export interface AppliedPromotion {
  /** The row's id. */
  id: number;
  /** Where the link pointed before (as stored), or null. */
  previous: string | null;
  aggregateHash: string | null;
}

export interface PromotionChange {
  link: PromotionLink;
  row: PromotionRow;
  /** A promote-batch item: recorded, so a retried step finds its row instead of adding one. */
  step?: PromotionStepKey;
  /** Component mode's `/api/promote`: the aggregate of the name, its hash on the row. */
  aggregate?: boolean;
}

/**
 * Switches the link and records the row, under the name's lock. A step already done (a retry
 * after its worker died) answers what it did. Throws ToolError when the link cannot be made
 * (nothing changed) and the database's error when the row cannot be written (the link put back).
 */
export const applyPromotion = ({ config, db }: Deps, change: PromotionChange): Promise<AppliedPromotion> =>
  withPromotionLock(config, change.row.promotionName, async () => {
    if (change.step) {
      const done = await findPromotionStep(db, change.step);
      if (done) return { id: done.promotionId, previous: done.previous, aggregateHash: null };
    }
    const previous = (await currentTarget(change.link.link)) ?? null;
    await switchPromotionLink(change.link, config.default.datadir);
    let aggregateHash: string | null = null;
    try {
      if (change.aggregate)
        aggregateHash = await aggregateRepoFiles(config, change.row.promotionName, await knownComponents(db));
      const id = await db.sequelize.transaction(async (transaction) => {
        const created = await db.models.Promotion.create({ ...change.row, aggregateHash }, { transaction });
        const id = created.getDataValue('id');
        if (change.step)
          await insertPromotionStep(db, { ...change.step, promotionId: id, previous }, transaction);
        return id;
      });
      return { id, previous, aggregateHash };
    } catch (err) {
      await restorePromotionLink(change.link.link, previous ?? undefined);
      if (aggregateHash) await settleAggregateUnlocked({ config, db }, change.row.promotionName);
      throw err;
    }
  });

/** Whether `link` points at `target` (an absolute path). */
const pointsAt = async (link: string, target: string): Promise<boolean> => {
  const now = await currentTarget(link);
  return now !== undefined && resolve(dirname(link), now) === target;
};

export interface PromotionUndo {
  id: number;
  link: PromotionLink;
  previous: string | null;
  promotionName: string;
  /** Component mode: the component whose rows the link follows; undefined otherwise. */
  component?: string | null;
  step?: PromotionStepKey;
}

/**
 * Undoes one promotion under the name's lock: deletes its row (by id), and when the link still
 * points where the promotion put it, moves it to the newest remaining row's repository (or back
 * to where it was, when no row is left). Safe to repeat.
 */
export const undoPromotion = ({ config, db }: Deps, undo: PromotionUndo): Promise<void> =>
  withPromotionLock(config, undo.promotionName, async () => {
    await db.models.Promotion.destroy({ where: { id: undo.id } });
    if (undo.step) await deletePromotionStep(db, undo.step);
    if (!(await pointsAt(undo.link.link, undo.link.target))) return;
    const newest = await newestPromotedCommit(db, undo.promotionName, undo.component);
    if (newest) {
      const target = promotionTarget(config, newest);
      if (target !== undo.link.target)
        await switchLink(undo.link.link, target, uniqueTempLink(undo.link.link));
    } else await restorePromotionLink(undo.link.link, undo.previous ?? undefined);
  });

/** Component mode: the aggregate of `name` made again, under the name's lock; its hash. */
export const aggregatePromotionName = ({ config, db }: Deps, name: string): Promise<string> =>
  withPromotionLock(config, name, async () => aggregateRepoFiles(config, name, await knownComponents(db)));

/**
 * Component mode, after an undo: the aggregate of `name` made again from the component links as
 * they are now (it is a function of them, whoever changed them last), or its links removed when
 * no component has the name any more.
 */
const settleAggregateUnlocked = async ({ config, db }: Deps, name: string): Promise<void> => {
  const components = await knownComponents(db);
  const linked = components.filter((c) =>
    existsSync(join(config.default.datadir, 'repos', 'component', c, name)),
  );
  if (linked.length > 0) await aggregateRepoFiles(config, name, components);
  else for (const link of aggregateLinks(config, name)) await rm(link, { force: true });
};

export const settleAggregate = (deps: Deps, name: string): Promise<void> =>
  withPromotionLock(deps.config, name, () => settleAggregateUnlocked(deps, name));
