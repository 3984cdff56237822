/**
 * DLRN's `users` table: API accounts with SHA-512 crypt passwords. `dlrn-user` manages them;
 * the API checks credentials against them.
 */
import type { Models } from '../db/models.ts';
import { InputError, NotFoundError } from '../domain/errors.ts';
import { hashPassword } from './sha512-crypt.ts';

interface HashOptions {
  /** SHA-crypt rounds; passlib's 656000 unless a test wants speed. */
  rounds?: number;
}

const checkPassword = (password: string): void => {
  if (password === '') throw new InputError('the password must not be empty');
};

export const createUser = async (
  models: Models,
  username: string,
  password: string,
  options: HashOptions = {},
): Promise<void> => {
  if (username.trim() === '') throw new InputError('the user name must not be empty');
  if (username.length > 255) throw new InputError('the user name is longer than 255 characters');
  checkPassword(password);
  if (await models.User.findByPk(username)) throw new InputError(`User ${username} already exists`);
  await models.User.create({ username, password: hashPassword(password, options) });
};

export const updatePassword = async (
  models: Models,
  username: string,
  password: string,
  options: HashOptions = {},
): Promise<void> => {
  checkPassword(password);
  const [updated] = await models.User.update(
    { password: hashPassword(password, options) },
    { where: { username } },
  );
  if (updated === 0) throw new NotFoundError(`User ${username} does not exist`);
};

export const userExists = async (models: Models, username: string): Promise<boolean> =>
  (await models.User.findByPk(username)) !== null;

export const deleteUser = async (models: Models, username: string): Promise<void> => {
  const deleted = await models.User.destroy({ where: { username } });
  if (deleted === 0) throw new NotFoundError(`User ${username} does not exist`);
};
