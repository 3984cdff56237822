/**
 * The site's promotion criteria (`[promotions] criteria_file`), read and checked with the API's
 * promote-name rules; undefined when automatic promotion is off.
 *
 * Running processes (the promotion workflows' activities, the API's wake-ups and metrics) read it
 * with `keepLastGood`: a file edited into something invalid is reported (`onBad`) and the last
 * criteria this process read well keep running, until the file is fixed. Commands that start
 * (`dlrn-server`, `dlrn promotions check`) refuse a bad file instead.
 */
import { readFile } from 'node:fs/promises';
import type { DlrnConfig } from '../config/index.ts';
import { ConfigError } from '../domain/errors.ts';
import { parseCriteria, type PromotionCriteria } from '../domain/promotion-criteria.ts';
import { checkPromoteName } from './promote.ts';

const lastGood = new Map<string, PromotionCriteria>();

const readCriteria = async (config: DlrnConfig, file: string): Promise<PromotionCriteria> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      [{ where: 'promotions.criteria_file', message: `cannot read ${file}: ${(err as Error).message}` }],
      config.file,
    );
  }
  return parseCriteria(file, text, checkPromoteName, config.default.useComponents);
};

export const loadCriteria = async (
  config: DlrnConfig,
  options: { keepLastGood?: boolean; onBad?: (err: ConfigError) => void } = {},
): Promise<PromotionCriteria | undefined> => {
  const file = config.promotions.criteriaFile;
  if (!file) return undefined;
  try {
    const criteria = await readCriteria(config, file);
    lastGood.set(file, criteria);
    return criteria;
  } catch (err) {
    const kept = lastGood.get(file);
    if (!options.keepLastGood || !kept || !(err instanceof ConfigError)) throw err;
    options.onBad?.(err);
    return kept;
  }
};
