/**
 * A NUL character cannot reach DLRN's databases: PostgreSQL refuses it in text, and SQLite (whose
 * values sequelize writes into the SQL) ends the literal there, a syntax error. A search or a
 * write holding one is an InputError naming the problem (a 400 from the API), never a database
 * error (a 500).
 */
import type { Model, Sequelize } from 'sequelize';
import { InputError } from '../domain/errors.ts';

const holdsNul = (value: unknown, depth = 0): boolean => {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 10 || value === null || typeof value !== 'object') return false;
  if (value instanceof Date || Buffer.isBuffer(value)) return false;
  const record = value as Record<string | symbol, unknown>;
  // Sequelize's operators are symbol keys ({ [Op.in]: [...] }).
  return [...Object.keys(record), ...Object.getOwnPropertySymbols(record)].some((key) =>
    holdsNul(record[key], depth + 1),
  );
};

const refuse = (what: unknown): void => {
  if (holdsNul(what)) throw new InputError('a value holds a NUL character, which the database cannot store');
};

export const guardAgainstNul = (sequelize: Sequelize): void => {
  sequelize.addHook('beforeFind', (options) => refuse(options.where));
  sequelize.addHook('beforeCount', (options) => refuse(options.where));
  sequelize.addHook('beforeValidate', (instance) => refuse(instance.get({ plain: true })));
  sequelize.addHook('beforeBulkCreate', (instances: Model[]) =>
    refuse(instances.map((i) => i.get({ plain: true }) as unknown)),
  );
  // Model.update() passes the new values as options.attributes.
  sequelize.addHook('beforeBulkUpdate', (options) =>
    refuse([(options as { attributes?: unknown }).attributes, options.where]),
  );
  sequelize.addHook('beforeBulkDestroy', (options) => refuse(options.where));
};
