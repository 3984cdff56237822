/**
 * The promote-batch saga's record of what each item created (`dlrnt_promotion_steps`, our own
 * table), and the promotion queries that keep a link equal to its newest row.
 */
import { QueryTypes, type Transaction } from 'sequelize';
import type { Database } from './database.ts';
import { PROMOTION_STEPS_TABLE } from './migrations.ts';
import type { CommitAttributes } from './models.ts';

/** One item of one batch: the saga's workflow id and the item's index. */
export interface PromotionStepKey {
  batchId: string;
  item: number;
}

export interface PromotionStep extends PromotionStepKey {
  promotionId: number;
  /** Where the link pointed before the item switched it (as stored), or null. */
  previous: string | null;
}

export const findPromotionStep = async (
  db: Database,
  key: PromotionStepKey,
): Promise<PromotionStep | undefined> => {
  const [row] = await db.sequelize.query<{ promotion_id: number; previous_target: string | null }>(
    `SELECT promotion_id, previous_target FROM ${PROMOTION_STEPS_TABLE} WHERE batch_id = ? AND item = ?`,
    { replacements: [key.batchId, key.item], type: QueryTypes.SELECT },
  );
  return row ? { ...key, promotionId: Number(row.promotion_id), previous: row.previous_target } : undefined;
};

export const insertPromotionStep = async (
  db: Database,
  step: PromotionStep,
  transaction: Transaction,
): Promise<void> => {
  await db.sequelize.query(
    `INSERT INTO ${PROMOTION_STEPS_TABLE} (batch_id, item, promotion_id, previous_target) VALUES (?, ?, ?, ?)`,
    { replacements: [step.batchId, step.item, step.promotionId, step.previous], transaction },
  );
};

export const deletePromotionStep = async (db: Database, key: PromotionStepKey): Promise<void> => {
  await db.sequelize.query(`DELETE FROM ${PROMOTION_STEPS_TABLE} WHERE batch_id = ? AND item = ?`, {
    replacements: [key.batchId, key.item],
  });
};

/**
 * The commit of the newest promotion row of `name` (highest id, as `/api/promotions` lists
 * them first); in component mode, of that component's rows only.
 */
export const newestPromotedCommit = async (
  db: Database,
  name: string,
  component: string | null | undefined,
): Promise<CommitAttributes | undefined> => {
  const { Promotion, Commit } = db.models;
  const row = await Promotion.findOne({
    where: { promotionName: name, ...(component === undefined ? {} : { component }) },
    order: [['id', 'DESC']],
  });
  if (!row) return undefined;
  return (await Commit.findByPk(row.getDataValue('commitId')))?.get({ plain: true });
};
