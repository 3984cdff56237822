/**
 * The steps of the promoteBatch saga, each with its undo, all through lib/repo/promotion-change.ts
 * (one change of a promotion name at a time; a link always equal to its newest row):
 *
 * - `promoteItem` switches an item's link and records its row, once per item (a retry finds it);
 *   `undoPromoteItem` deletes that row and moves the link back only if it is still the item's;
 * - `aggregateBatch` (component mode) makes the last name's aggregate and stores its hash on
 *   the last row; `settleBatchAggregate` makes it again after the undos, from the links then.
 *
 * The activities before these (switchPromotion ... restoreAggregate) stay for batches that
 * were under way when a site upgraded: their histories replay on the old path (`patched` in
 * workflows/promote-batch.ts).
 */
import { knownComponents } from '../../lib/db/index.ts';
import { aggregateLinks, aggregateRepoFiles } from '../../lib/repo/aggregate.ts';
import {
  currentTarget,
  restorePromotionLink,
  switchPromotionLink,
  type PromotionLink,
} from '../../lib/repo/promote.ts';
import {
  aggregatePromotionName,
  applyPromotion,
  settleAggregate,
  undoPromotion,
  type PromotionRow,
} from '../../lib/repo/promotion-change.ts';
import type { ActivityDeps } from '../deps.ts';

export type { PromotionRow } from '../../lib/repo/promotion-change.ts';

export interface PromoteItemInput {
  /** The saga's workflow id. */
  batchId: string;
  /** The item's index in the batch. */
  item: number;
  link: PromotionLink;
  row: PromotionRow;
}

export interface PromotedItem {
  id: number;
  previous: string | null;
}

/** One item of a batch: its link switched and its row recorded, under the name's lock. */
export const promoteItem = async (deps: ActivityDeps, input: PromoteItemInput): Promise<PromotedItem> => {
  const { id, previous } = await applyPromotion(deps, {
    link: input.link,
    row: input.row,
    step: { batchId: input.batchId, item: input.item },
  });
  return { id, previous };
};

export const undoPromoteItem = async (
  deps: ActivityDeps,
  input: PromoteItemInput & PromotedItem,
): Promise<void> =>
  undoPromotion(deps, {
    id: input.id,
    link: input.link,
    previous: input.previous,
    promotionName: input.row.promotionName,
    ...(deps.config.default.useComponents ? { component: input.row.component } : {}),
    step: { batchId: input.batchId, item: input.item },
  });

/** Component mode: the last name's aggregate, its hash stored on the last row. */
export const aggregateBatch = async (
  deps: ActivityDeps,
  input: { name: string; promotionId: number },
): Promise<string> => {
  const hash = await aggregatePromotionName(deps, input.name);
  await deps.db.models.Promotion.update({ aggregateHash: hash }, { where: { id: input.promotionId } });
  return hash;
};

export const settleBatchAggregate = (deps: ActivityDeps, input: { name: string }): Promise<void> =>
  settleAggregate(deps, input.name);

// --- The steps of batches started before promoteItem existed (replayed histories only). ---

/** Switches a promotion link; returns its previous target. A file-system refusal is final. */
export const switchPromotion = async (deps: ActivityDeps, link: PromotionLink): Promise<string | null> =>
  (await switchPromotionLink(link, deps.config.default.datadir)) ?? null;

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

/** Component mode: the aggregate of `name` over every known component; returns its hash and the links' previous targets. */
export const aggregatePromotion = async (
  deps: ActivityDeps,
  name: string,
): Promise<{ hash: string; previous: (string | null)[] }> => {
  const links = aggregateLinks(deps.config, name);
  const previous = await Promise.all(links.map(async (l) => (await currentTarget(l)) ?? null));
  return { hash: await aggregateRepoFiles(deps.config, name, await knownComponents(deps.db)), previous };
};

export const restoreAggregate = async (
  deps: ActivityDeps,
  input: { name: string; previous: (string | null)[] },
): Promise<void> => {
  const links = aggregateLinks(deps.config, input.name);
  for (const [i, link] of links.entries()) await restorePromotionLink(link, input.previous[i] ?? undefined);
};
