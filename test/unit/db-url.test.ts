import test from 'ava';
import { ConfigError } from '../../lib/domain/errors.ts';
import { parseDatabaseUrl } from '../../lib/db/url.ts';

test('sqlite URLs resolve as SQLAlchemy does: three slashes relative, four absolute, none in memory', (t) => {
  t.is(parseDatabaseUrl('sqlite:///commits.sqlite', '/srv/dlrn').storage, '/srv/dlrn/commits.sqlite');
  t.is(
    parseDatabaseUrl('sqlite:////var/lib/dlrn/commits.sqlite', '/srv').storage,
    '/var/lib/dlrn/commits.sqlite',
  );
  t.is(parseDatabaseUrl('sqlite://').storage, ':memory:');
});

test('postgresql and mysql URLs with or without a driver suffix', (t) => {
  const pg = parseDatabaseUrl('postgresql+psycopg2://dlrn:s%40cret@db.example:5433/dlrn');
  t.like(pg, {
    dialect: 'postgres',
    host: 'db.example',
    port: 5433,
    database: 'dlrn',
    username: 'dlrn',
    password: 's@cret',
  });
  t.is(pg.display, 'postgresql+psycopg2://dlrn:***@db.example:5433/dlrn');
  t.like(parseDatabaseUrl('postgresql://u@h/d'), { dialect: 'postgres', host: 'h', database: 'd' });
  t.like(parseDatabaseUrl('mysql+pymysql://dlrn:pw@127.0.0.1/dlrn?charset=utf8'), {
    dialect: 'mysql',
    host: '127.0.0.1',
    database: 'dlrn',
    query: { charset: 'utf8' },
  });
  t.like(parseDatabaseUrl('mariadb+pymysql://u:p@h:3307/d'), { dialect: 'mysql', port: 3307 });
});

test('an unsupported scheme is an error naming it', (t) => {
  t.throws(() => parseDatabaseUrl('oracle://u:p@h/d'), {
    instanceOf: ConfigError,
    message: /database scheme "oracle" is not supported; expected sqlite, postgresql, mysql or mariadb/,
  });
  t.throws(() => parseDatabaseUrl('commits.sqlite'), {
    instanceOf: ConfigError,
    message: /expected an SQLAlchemy URL/,
  });
  t.throws(() => parseDatabaseUrl('postgresql://u@h/'), {
    instanceOf: ConfigError,
    message: /names no database/,
  });
});
