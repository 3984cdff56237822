/**
 * SHA-512 crypt (`$6$`), the password hash in DLRN's `users` table (passlib's `sha512_crypt`),
 * implemented from Ulrich Drepper's public specification "Unix crypt using SHA-256 and
 * SHA-512" on node:crypto. The only npm implementation hashes in pure JavaScript and needs
 * about 15 s for passlib's default 656000 rounds; node:crypto needs well under one.
 *
 * Hashes we write use passlib's default rounds, so DLRN verifies them; verification accepts
 * any valid `$6$` string, with or without `rounds=`.
 */
import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** passlib 1.7's default for sha512_crypt, which DLRN's `dlrn-user` uses. */
export const DEFAULT_ROUNDS = 656_000;
/** The specification's rounds when a hash names none. */
const IMPLICIT_ROUNDS = 5_000;
const MIN_ROUNDS = 1_000;
const MAX_ROUNDS = 999_999_999;
const MAX_SALT = 16;
const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const sha512 = (...parts: Buffer[]): Buffer => {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** `length` bytes of `block` repeated. */
const stretch = (block: Buffer, length: number): Buffer => {
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += block.length)
    block.copy(out, at, 0, Math.min(block.length, length - at));
  return out;
};

const encode = (digest: Buffer): string => {
  let out = '';
  const put = (word: number, chars: number) => {
    for (let i = 0; i < chars; i++) {
      out += ITOA64[word & 0x3f];
      word >>>= 6;
    }
  };
  // The specification's byte order: 21 groups of three bytes taken 21 apart, each group
  // rotated by its index, then the last byte alone.
  for (let k = 0; k < 21; k++) {
    const group = [digest[k]!, digest[k + 21]!, digest[k + 42]!];
    const r = k % 3;
    const [b2, b1, b0] = [group[r]!, group[(r + 1) % 3]!, group[(r + 2) % 3]!];
    put((b2 << 16) | (b1 << 8) | b0, 4);
  }
  put(digest[63]!, 2);
  return out;
};

const digestOf = (password: Buffer, salt: Buffer, rounds: number): Buffer => {
  const b = sha512(password, salt, password);
  const a = createHash('sha512').update(password).update(salt).update(stretch(b, password.length));
  for (let n = password.length; n > 0; n >>= 1) a.update(n & 1 ? b : password);
  let c = a.digest();
  const p = stretch(sha512(...Array<Buffer>(password.length).fill(password)), password.length);
  const s = stretch(sha512(...Array<Buffer>(16 + c[0]!).fill(salt)), salt.length);
  // One preallocated buffer per round and the one-shot hash: a Hash object per round costs
  // several times the hashing itself.
  const buffer = Buffer.alloc(64 + s.length + 2 * p.length);
  for (let i = 0; i < rounds; i++) {
    let at = (i & 1 ? p : c).copy(buffer, 0);
    if (i % 3) at += s.copy(buffer, at);
    if (i % 7) at += p.copy(buffer, at);
    at += (i & 1 ? c : p).copy(buffer, at);
    c = hash('sha512', buffer.subarray(0, at), 'buffer');
  }
  return c;
};

interface Setting {
  salt: string;
  rounds: number;
  /** Whether the setting spelled `rounds=`, which the result then repeats. */
  explicitRounds: boolean;
}

const HASH_RE = /^\$6\$(?:rounds=(\d+)\$)?([^$]{0,16})(?:\$([./0-9A-Za-z]{86}))?$/;

const parse = (setting: string): (Setting & { checksum?: string }) | undefined => {
  const m = HASH_RE.exec(setting);
  if (!m) return undefined;
  const [, rounds, salt = '', checksum] = m;
  const parsed = rounds === undefined ? IMPLICIT_ROUNDS : Number(rounds);
  return {
    salt,
    rounds: Math.min(MAX_ROUNDS, Math.max(MIN_ROUNDS, parsed)),
    explicitRounds: rounds !== undefined,
    ...(checksum ? { checksum } : {}),
  };
};

const format = ({ salt, rounds, explicitRounds }: Setting, password: string): string => {
  const digest = digestOf(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), rounds);
  return `$6$${explicitRounds ? `rounds=${rounds}$` : ''}${salt}$${encode(digest)}`;
};

const randomSalt = (): string => {
  const bytes = randomBytes(MAX_SALT);
  return Array.from(bytes, (byte) => ITOA64[byte & 0x3f]).join('');
};

/** Hashes a password as passlib's default `sha512_crypt` does: 656000 rounds, 16-char salt. */
export const hashPassword = (password: string, options: { rounds?: number; salt?: string } = {}): string => {
  const salt = options.salt ?? randomSalt();
  if (salt.length > MAX_SALT || salt.includes('$'))
    throw new RangeError('salt must be at most 16 characters without "$"');
  const rounds = Math.min(MAX_ROUNDS, Math.max(MIN_ROUNDS, options.rounds ?? DEFAULT_ROUNDS));
  return format({ salt, rounds, explicitRounds: true }, password);
};

/** True when `hash` is a SHA-512 crypt string. */
export const isSha512Crypt = (hash: string): boolean => parse(hash)?.checksum !== undefined;

/**
 * Checks `password` against a stored `$6$` hash in constant time. A stored value that is not
 * a SHA-512 crypt string never matches.
 */
export const verifyPassword = (password: string, hash: string): boolean => {
  const setting = parse(hash);
  if (!setting?.checksum) return false;
  const expected = Buffer.from(hash, 'utf8');
  const actual = Buffer.from(format(setting, password), 'utf8');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
};
