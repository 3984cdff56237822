/**
 * Automatic promotion's decisions (`dlrnt_promotion_decisions`, our own table): one row per
 * target, candidate and mode, claimed before the promotion is made, so a retried or repeated
 * decision finds it and promotes once; with the evidence (the jobs, their votes and waivers) that
 * justified it and the promotion rows it made.
 */
import { QueryTypes } from 'sequelize';
import type { Database } from './database.ts';
import { PROMOTION_DECISIONS_TABLE } from './migrations.ts';

export interface DecisionRecord {
  id: number;
  target: string;
  candidate: string;
  dryRun: boolean;
  decidedAt: number;
  /** The promotion rows made; null while the promotion is not done (or in a dry run). */
  promotionIds: number[] | null;
  evidence: unknown;
  workflowId: string | null;
}

interface Row {
  id: number;
  target: string;
  candidate: string;
  dry_run: boolean | number;
  decided_at: number;
  promotion_ids: string | null;
  evidence: string;
  workflow_id: string | null;
}

const recordOf = (r: Row): DecisionRecord => ({
  id: Number(r.id),
  target: r.target,
  candidate: r.candidate,
  dryRun: Boolean(r.dry_run),
  decidedAt: Number(r.decided_at),
  promotionIds: r.promotion_ids === null ? null : (JSON.parse(r.promotion_ids) as number[]),
  evidence: JSON.parse(r.evidence) as unknown,
  workflowId: r.workflow_id,
});

const find = async (db: Database, target: string, candidate: string, dryRun: boolean) => {
  const [row] = await db.sequelize.query<Row>(
    `SELECT * FROM ${PROMOTION_DECISIONS_TABLE} WHERE target = ? AND candidate = ? AND dry_run = ?`,
    { replacements: [target, candidate, dryRun], type: QueryTypes.SELECT },
  );
  return row ? recordOf(row) : undefined;
};

/**
 * The decision for this target and candidate: the one made before (a retry, a second worker), or
 * a new one with this evidence. `created` says which.
 */
export const claimDecision = async (
  db: Database,
  d: {
    target: string;
    candidate: string;
    dryRun: boolean;
    decidedAt: number;
    evidence: unknown;
    workflowId: string;
  },
): Promise<{ decision: DecisionRecord; created: boolean }> => {
  const before = await find(db, d.target, d.candidate, d.dryRun);
  if (before) return { decision: before, created: false };
  try {
    await db.sequelize.query(
      `INSERT INTO ${PROMOTION_DECISIONS_TABLE} (target, candidate, dry_run, decided_at, evidence, workflow_id) VALUES (?, ?, ?, ?, ?, ?)`,
      {
        replacements: [
          d.target,
          d.candidate,
          d.dryRun,
          d.decidedAt,
          JSON.stringify(d.evidence),
          d.workflowId,
        ],
      },
    );
  } catch (err) {
    // Another claim won the unique index in between: its decision stands.
    const other = await find(db, d.target, d.candidate, d.dryRun);
    if (other) return { decision: other, created: false };
    throw err;
  }
  const made = await find(db, d.target, d.candidate, d.dryRun);
  if (!made) throw new Error('the decision just stored cannot be read back');
  return { decision: made, created: true };
};

export const setDecisionPromotions = async (
  db: Database,
  id: number,
  promotionIds: number[],
): Promise<void> => {
  await db.sequelize.query(`UPDATE ${PROMOTION_DECISIONS_TABLE} SET promotion_ids = ? WHERE id = ?`, {
    replacements: [JSON.stringify(promotionIds), id],
  });
};

/** A target's decisions, newest first. */
export const listDecisions = async (db: Database, target: string, limit = 20): Promise<DecisionRecord[]> =>
  (
    await db.sequelize.query<Row>(
      `SELECT * FROM ${PROMOTION_DECISIONS_TABLE} WHERE target = ? ORDER BY id DESC LIMIT ?`,
      { replacements: [target, limit], type: QueryTypes.SELECT },
    )
  ).map(recordOf);
