/**
 * Queries several parts of the builder and the API share, and the ones that need SQL the models
 * cannot say, kept in the database layer.
 */
import { Op, QueryTypes, literal } from 'sequelize';
import { PURGED_FLAG } from '../domain/purge.ts';
import type { Database } from './database.ts';

/** Every component a build was recorded for (component mode's aggregates span them). */
export const knownComponents = async (db: Database): Promise<string[]> =>
  (
    await db.models.Commit.findAll({
      attributes: ['component'],
      where: { component: { [Op.ne]: null } },
      group: ['component'],
    })
  ).flatMap((r) => r.getDataValue('component') ?? []);

/** Per project, the newest `dt_build` of its successful rpm builds. */
export const newestSuccessBuildTimes = async (db: Database): Promise<Map<string, number>> => {
  const rows = await db.sequelize.query<{ project_name: string; newest: number }>(
    "SELECT project_name, MAX(dt_build) AS newest FROM commits WHERE type = 'rpm' AND status = 'SUCCESS' GROUP BY project_name",
    { type: QueryTypes.SELECT },
  );
  return new Map(rows.map((n) => [n.project_name, Number(n.newest)]));
};

/** Every promotion name ever used. */
export const promotionNames = async (db: Database): Promise<string[]> =>
  (await db.models.Promotion.findAll({ attributes: ['promotionName'], group: ['promotionName'] })).map((p) =>
    p.getDataValue('promotionName'),
  );

/** Sets the PURGED bit on rows, keeping their other flags. */
export const markPurged = async (db: Database, ids: number[]): Promise<void> => {
  if (ids.length === 0) return;
  await db.models.Commit.update(
    { flags: literal(`COALESCE(flags, 0) | ${PURGED_FLAG}`) },
    { where: { id: { [Op.in]: ids } } },
  );
};

/**
 * For each promotion name, how much older (seconds) the build of its newest promotion is than
 * the newest successful build.
 */
export const promotionLags = async (db: Database): Promise<{ name: string; lag: number }[]> => {
  const rows = await db.sequelize.query<{ name: string; built: number | null; newest: number | null }>(
    `SELECT p.promotion_name AS name, c.dt_build AS built,
            (SELECT MAX(dt_build) FROM commits WHERE status = 'SUCCESS') AS newest
       FROM promotions p JOIN commits c ON c.id = p.commit_id
      WHERE p.id IN (SELECT MAX(id) FROM promotions GROUP BY promotion_name)`,
    { type: QueryTypes.SELECT },
  );
  return rows.map((r) => ({ name: r.name, lag: Math.max(0, Number(r.newest ?? 0) - Number(r.built ?? 0)) }));
};
