/**
 * The site's promotion criteria (`[promotions] criteria_file`), read and checked with the API's
 * promote-name rules; undefined when automatic promotion is off.
 */
import { readFile } from 'node:fs/promises';
import type { DlrnConfig } from '../config/index.ts';
import { ConfigError } from '../domain/errors.ts';
import { parseCriteria, type PromotionCriteria } from '../domain/promotion-criteria.ts';
import { checkPromoteName } from './promote.ts';

export const loadCriteria = async (config: DlrnConfig): Promise<PromotionCriteria | undefined> => {
  const file = config.promotions.criteriaFile;
  if (!file) return undefined;
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
