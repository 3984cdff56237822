/**
 * DLRN's database schema at alembic head `6a3d982b967b` (dlrn-spec §1), written once as data.
 * The migrations create it with the DDL SQLAlchemy would emit on each engine, so a database we
 * create is one DLRN can open, and one DLRN created is one we can open.
 */

export const ALEMBIC_HEAD = '6a3d982b967b';

export type ColumnType = 'integer' | 'text' | 'boolean' | { varchar: number };

export interface ColumnDef {
  name: string;
  type: ColumnType;
  nullable: boolean;
  primaryKey?: boolean;
  /** An integer primary key the database numbers itself. */
  autoIncrement?: boolean;
  references?: { table: string; column: string; constraint?: string };
}

export interface TableDef {
  name: string;
  columns: ColumnDef[];
}

const col = (name: string, type: ColumnType, nullable = true, extra: Partial<ColumnDef> = {}): ColumnDef => ({
  name,
  type,
  nullable,
  ...extra,
});
const id = (): ColumnDef => col('id', 'integer', false, { primaryKey: true, autoIncrement: true });
const userRef = (constraint?: string): ColumnDef =>
  col('user', { varchar: 255 }, true, {
    references: { table: 'users', column: 'username', ...(constraint ? { constraint } : {}) },
  });

/** Tables in creation order (referenced tables first). */
export const DLRN_TABLES: TableDef[] = [
  {
    name: 'users',
    columns: [
      col('username', { varchar: 255 }, false, { primaryKey: true }),
      col('password', { varchar: 256 }, false),
    ],
  },
  {
    name: 'commits',
    columns: [
      id(),
      col('type', { varchar: 18 }),
      col('dt_commit', 'integer'),
      col('dt_distro', 'integer'),
      col('dt_extended', 'integer'),
      col('dt_build', 'integer'),
      col('project_name', { varchar: 256 }),
      col('repo_dir', { varchar: 1024 }),
      col('distgit_dir', { varchar: 1024 }),
      col('commit_hash', { varchar: 64 }),
      col('distro_hash', { varchar: 64 }),
      col('extended_hash', { varchar: 128 }),
      col('commit_branch', { varchar: 256 }),
      col('status', { varchar: 64 }),
      col('component', { varchar: 64 }),
      col('artifacts', 'text'),
      col('notes', 'text'),
      col('flags', 'integer'),
      col('versions_csv', { varchar: 256 }),
    ],
  },
  {
    name: 'projects',
    columns: [id(), col('project_name', { varchar: 256 }), col('last_email', 'integer')],
  },
  {
    name: 'civotes',
    columns: [
      id(),
      col('commit_id', 'integer', false, { references: { table: 'commits', column: 'id' } }),
      col('ci_name', { varchar: 256 }),
      col('ci_url', { varchar: 1024 }),
      col('ci_vote', 'boolean'),
      col('ci_in_progress', 'boolean'),
      col('timestamp', 'integer'),
      col('notes', 'text'),
      userRef('civ_user_fk'),
      col('component', { varchar: 64 }),
    ],
  },
  {
    name: 'civotes_agg',
    columns: [
      id(),
      col('ref_hash', { varchar: 64 }, false),
      col('ci_name', { varchar: 256 }),
      col('ci_url', { varchar: 1024 }),
      col('ci_vote', 'boolean'),
      col('ci_in_progress', 'boolean'),
      col('timestamp', 'integer'),
      col('notes', 'text'),
      userRef(),
    ],
  },
  {
    name: 'promotions',
    columns: [
      id(),
      col('commit_id', 'integer', false, { references: { table: 'commits', column: 'id' } }),
      col('promotion_name', { varchar: 256 }, false),
      col('timestamp', 'integer', false),
      userRef('prom_user_fk'),
      col('component', { varchar: 64 }),
      col('aggregate_hash', { varchar: 64 }),
    ],
  },
];

export type SqlDialect = 'sqlite' | 'postgres' | 'mysql';

const sqlType = (type: ColumnType, dialect: SqlDialect): string => {
  if (typeof type === 'object') return `VARCHAR(${type.varchar})`;
  if (type === 'integer') return 'INTEGER';
  if (type === 'text') return 'TEXT';
  return dialect === 'mysql' ? 'BOOL' : 'BOOLEAN';
};

/** `CREATE TABLE` for one DLRN table, as SQLAlchemy's `create_all` writes it on that engine. */
export const createTableSql = (
  table: TableDef,
  dialect: SqlDialect,
  quote: (name: string) => string,
): string => {
  const lines = table.columns.map((c) => {
    let type = sqlType(c.type, dialect);
    if (c.autoIncrement && dialect === 'postgres') type = 'SERIAL';
    const notNull = c.nullable ? '' : ' NOT NULL';
    const auto = c.autoIncrement && dialect === 'mysql' ? ' AUTO_INCREMENT' : '';
    return `${quote(c.name)} ${type}${notNull}${auto}`;
  });
  const pk = table.columns.filter((c) => c.primaryKey).map((c) => quote(c.name));
  lines.push(`PRIMARY KEY (${pk.join(', ')})`);
  for (const c of table.columns) {
    if (!c.references) continue;
    const name = c.references.constraint ? `CONSTRAINT ${quote(c.references.constraint)} ` : '';
    lines.push(
      `${name}FOREIGN KEY(${quote(c.name)}) REFERENCES ${quote(c.references.table)} (${quote(c.references.column)})`,
    );
  }
  const suffix = dialect === 'mysql' ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' : '';
  return `CREATE TABLE ${quote(table.name)} (\n\t${lines.join(',\n\t')}\n)${suffix}`;
};
