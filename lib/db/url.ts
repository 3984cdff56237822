/**
 * DLRN's `database_connection` is an SQLAlchemy URL. This turns one into sequelize options:
 * `sqlite:///relative.sqlite`, `sqlite:////absolute.sqlite`, `sqlite://` (memory),
 * `postgresql[+driver]://user:pass@host:port/db` and `mysql[+driver]://` or `mariadb[+driver]://`.
 */
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../domain/errors.ts';

export type Dialect = 'sqlite' | 'postgres' | 'mysql';

export interface DatabaseTarget {
  dialect: Dialect;
  /** sqlite: an absolute file path, or ':memory:'. */
  storage?: string;
  host?: string;
  port?: number;
  database?: string;
  username?: string;
  password?: string;
  /** Extra `?key=value` pairs of the URL (`charset`, `host` for a socket, ...). */
  query: Record<string, string>;
  /** The URL with the password hidden, for messages and logs. */
  display: string;
}

const SCHEMES: Record<string, Dialect> = {
  sqlite: 'sqlite',
  postgresql: 'postgres',
  postgres: 'postgres',
  mysql: 'mysql',
  mariadb: 'mysql',
};

const problem = (url: string, message: string): ConfigError =>
  new ConfigError([
    { where: 'DEFAULT.database_connection', message: `[DEFAULT] database_connection = "${url}": ${message}` },
  ]);

/** Parses an SQLAlchemy URL; relative SQLite paths are resolved against `cwd`, as SQLAlchemy does. */
export const parseDatabaseUrl = (url: string, cwd = process.cwd()): DatabaseTarget => {
  const match = /^(?<scheme>[A-Za-z][A-Za-z0-9]*)(?:\+(?<driver>[A-Za-z0-9_]+))?:\/\/(?<rest>.*)$/s.exec(
    url.trim(),
  );
  if (!match?.groups) {
    throw problem(
      url,
      'expected an SQLAlchemy URL such as sqlite:///commits.sqlite or postgresql://user:pw@host/db',
    );
  }
  const scheme = (match.groups.scheme ?? '').toLowerCase();
  const dialect = SCHEMES[scheme];
  if (!dialect) {
    throw problem(
      url,
      `database scheme "${scheme}" is not supported; expected sqlite, postgresql, mysql or mariadb`,
    );
  }
  const rest = match.groups.rest ?? '';
  const [pathPart = '', queryPart = ''] = rest.split('?', 2);
  const query = Object.fromEntries(new URLSearchParams(queryPart));

  if (dialect === 'sqlite') {
    // sqlite:// is memory; sqlite:///x is relative x; sqlite:////x is absolute /x.
    if (pathPart === '' || pathPart === '/' || pathPart === '/:memory:') {
      return { dialect, storage: ':memory:', query, display: url };
    }
    if (!pathPart.startsWith('/'))
      throw problem(url, 'an sqlite URL has three slashes before the file: sqlite:///file');
    const file = pathPart.slice(1);
    return { dialect, storage: isAbsolute(file) ? file : resolve(cwd, file), query, display: url };
  }

  let parsed: URL;
  try {
    parsed = new URL(`${dialect === 'postgres' ? 'postgres' : 'mysql'}://${rest}`);
  } catch (err) {
    throw problem(url, `not a valid URL (${(err as Error).message})`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw problem(url, 'the URL names no database (expected .../<database>)');
  const target: DatabaseTarget = {
    dialect,
    host: decodeURIComponent(parsed.hostname) || query.host || 'localhost',
    database,
    query,
    display: parsed.password ? url.replace(`:${parsed.password}@`, ':***@') : url,
  };
  if (parsed.port) target.port = Number(parsed.port);
  if (parsed.username) target.username = decodeURIComponent(parsed.username);
  if (parsed.password) target.password = decodeURIComponent(parsed.password);
  return target;
};
