/**
 * Waivers (`dlrnt_waivers`, our own table): a required job counted as passed for a promotion
 * target, for every candidate or one, until it expires. Each records who made it and when; a
 * withdrawn waiver keeps its row, with who withdrew it and when.
 */
import { QueryTypes } from 'sequelize';
import type { Waiver } from '../domain/promotion-criteria.ts';
import type { Database } from './database.ts';
import { WAIVERS_TABLE } from './migrations.ts';

export interface WaiverRecord extends Waiver {
  withdrawnBy: string | null;
  withdrawnAt: number | null;
}

interface Row {
  id: number;
  target: string;
  job: string;
  reason: string;
  candidate: string | null;
  expires_at: number;
  created_by: string;
  created_at: number;
  withdrawn_by: string | null;
  withdrawn_at: number | null;
}

const recordOf = (r: Row): WaiverRecord => ({
  id: Number(r.id),
  target: r.target,
  job: r.job,
  reason: r.reason,
  candidate: r.candidate,
  expiresAt: Number(r.expires_at),
  user: r.created_by,
  createdAt: Number(r.created_at),
  withdrawnBy: r.withdrawn_by,
  withdrawnAt: r.withdrawn_at === null ? null : Number(r.withdrawn_at),
});

export const createWaiver = async (db: Database, w: Omit<Waiver, 'id'>): Promise<WaiverRecord> => {
  await db.sequelize.query(
    `INSERT INTO ${WAIVERS_TABLE} (target, job, reason, candidate, expires_at, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    { replacements: [w.target, w.job, w.reason, w.candidate, w.expiresAt, w.user, w.createdAt] },
  );
  // The row just made: the newest of this user's for this target and job at this time.
  const [row] = await db.sequelize.query<Row>(
    `SELECT * FROM ${WAIVERS_TABLE} WHERE target = ? AND job = ? AND created_by = ? AND created_at = ? ORDER BY id DESC`,
    { replacements: [w.target, w.job, w.user, w.createdAt], type: QueryTypes.SELECT },
  );
  if (!row) throw new Error('the waiver just stored cannot be read back');
  return recordOf(row);
};

/**
 * Waivers, newest first: in force at `now` (not expired, not withdrawn) unless `all`, of one
 * target when given.
 */
export const listWaivers = async (
  db: Database,
  filter: { now: number; target?: string; all?: boolean },
): Promise<WaiverRecord[]> => {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.target !== undefined) {
    where.push('target = ?');
    params.push(filter.target);
  }
  if (!filter.all) {
    where.push('expires_at > ? AND withdrawn_at IS NULL');
    params.push(filter.now);
  }
  const rows = await db.sequelize.query<Row>(
    `SELECT * FROM ${WAIVERS_TABLE}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC`,
    { replacements: params, type: QueryTypes.SELECT },
  );
  return rows.map(recordOf);
};

export const findWaiver = async (db: Database, id: number): Promise<WaiverRecord | undefined> => {
  const [row] = await db.sequelize.query<Row>(`SELECT * FROM ${WAIVERS_TABLE} WHERE id = ?`, {
    replacements: [id],
    type: QueryTypes.SELECT,
  });
  return row ? recordOf(row) : undefined;
};

/** Withdraws a waiver (its row stays, with who and when); false when it was withdrawn already. */
export const withdrawWaiver = async (db: Database, id: number, by: string, at: number): Promise<boolean> => {
  const before = await findWaiver(db, id);
  if (!before || before.withdrawnAt !== null) return false;
  await db.sequelize.query(
    `UPDATE ${WAIVERS_TABLE} SET withdrawn_by = ?, withdrawn_at = ? WHERE id = ? AND withdrawn_at IS NULL`,
    { replacements: [by, at, id] },
  );
  return true;
};
