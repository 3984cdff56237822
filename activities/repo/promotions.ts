/**
 * The steps of the promoteBatch saga, each with its undo: switching a promotion link (undone by
 * putting the previous target back), recording a promotion row (undone by deleting it), and the
 * component aggregate of a promotion name (undone by pointing its three links back).
 */
import { join, resolve } from 'node:path';
import { knownComponents } from '../../lib/db/index.ts';
import { aggregateRepoFiles } from '../../lib/repo/aggregate.ts';
import {
  currentTarget,
  restorePromotionLink,
  switchPromotionLink,
  type PromotionLink,
} from '../../lib/repo/promote.ts';
import type { ActivityDeps } from '../deps.ts';

export interface PromotionRow {
  commitId: number;
  promotionName: string;
  timestamp: number;
  user: string | null;
  component: string | null;
}

/** Switches a promotion link; returns its previous target. A file-system refusal is final. */
export const switchPromotion = async (_deps: ActivityDeps, link: PromotionLink): Promise<string | null> =>
  (await switchPromotionLink(link)) ?? null;

export const restorePromotion = async (
  _deps: ActivityDeps,
  input: { link: string; previous: string | null },
): Promise<void> => restorePromotionLink(input.link, input.previous ?? undefined);

/** Records a promotion row once: a retried step (its worker died after the insert) finds it. */
export const recordPromotion = async (deps: ActivityDeps, row: PromotionRow): Promise<number> => {
  const { Promotion } = deps.db.models;
  const found =
    (await Promotion.findOne({ where: { ...row } })) ??
    (await Promotion.create({ ...row, aggregateHash: null }));
  return found.getDataValue('id');
};

export const deletePromotion = async (deps: ActivityDeps, id: number): Promise<void> => {
  await deps.db.models.Promotion.destroy({ where: { id } });
};

export const setPromotionAggregate = async (
  deps: ActivityDeps,
  input: { id: number; hash: string },
): Promise<void> => {
  await deps.db.models.Promotion.update({ aggregateHash: input.hash }, { where: { id: input.id } });
};

const aggregateLinks = (deps: ActivityDeps, name: string): string[] => {
  const reponame = deps.config.default.reponame ?? 'delorean';
  const top = resolve(deps.config.default.datadir, 'repos', name);
  return [`${reponame}.repo`, `${reponame}.repo.md5`, 'versions.csv'].map((f) => join(top, f));
};

/** Component mode: the aggregate of `name` over every known component; returns its hash and the links' previous targets. */
export const aggregatePromotion = async (
  deps: ActivityDeps,
  name: string,
): Promise<{ hash: string; previous: (string | null)[] }> => {
  const links = aggregateLinks(deps, name);
  const previous = await Promise.all(links.map(async (l) => (await currentTarget(l)) ?? null));
  return { hash: await aggregateRepoFiles(deps.config, name, await knownComponents(deps.db)), previous };
};

export const restoreAggregate = async (
  deps: ActivityDeps,
  input: { name: string; previous: (string | null)[] },
): Promise<void> => {
  const links = aggregateLinks(deps, input.name);
  for (const [i, link] of links.entries()) await restorePromotionLink(link, input.previous[i] ?? undefined);
};
