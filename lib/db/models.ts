/**
 * Sequelize models over DLRN's tables. Column names stay DLRN's (`commit_hash`, `dt_build`);
 * attributes are their camelCase forms, mapped with `field`, and are derived from the schema in
 * schema.ts so the two cannot drift apart.
 */
import {
  DataTypes,
  type Model,
  type ModelAttributeColumnOptions,
  type ModelAttributes,
  type ModelStatic,
  type Optional,
  type Sequelize,
} from 'sequelize';
import { DLRN_TABLES, type ColumnType, type TableDef } from './schema.ts';

/**
 * One build attempt of a source commit combined with a distgit commit.
 * - `commitHash`: the upstream source commit; `distroHash`: the distgit (packaging) commit.
 * - `extendedHash`: a third hash for drivers that follow more repositories (downstream driver:
 *   `<downstream distgit sha>_<downstream source sha>`), else null.
 * - `status`: `SUCCESS`, `FAILED` or `RETRY`; `flags` bit 0x2 marks a purged build.
 * - `artifacts`: comma-separated paths of the built files, relative to `datadir`.
 * - times (`dtCommit`, `dtDistro`, `dtExtended`, `dtBuild`) are epoch seconds.
 */
export interface CommitAttributes {
  id: number;
  type: string | null;
  dtCommit: number | null;
  dtDistro: number | null;
  dtExtended: number | null;
  dtBuild: number | null;
  projectName: string | null;
  repoDir: string | null;
  distgitDir: string | null;
  commitHash: string | null;
  distroHash: string | null;
  extendedHash: string | null;
  commitBranch: string | null;
  status: string | null;
  component: string | null;
  artifacts: string | null;
  notes: string | null;
  flags: number | null;
  versionsCsv: string | null;
}

/** Per-package mail throttling: `lastEmail` is when the last failure mail went out. */
interface ProjectAttributes {
  id: number;
  projectName: string | null;
  lastEmail: number | null;
}

/** A CI job's vote on one commit's repository; `ciName` is the API's `job_id`. */
export interface CiVoteAttributes {
  id: number;
  commitId: number;
  ciName: string | null;
  ciUrl: string | null;
  ciVote: boolean | null;
  ciInProgress: boolean | null;
  timestamp: number | null;
  notes: string | null;
  user: string | null;
  component: string | null;
}

/** A CI job's vote on an aggregate repository (component mode), by its md5 `refHash`. */
export interface CiVoteAggAttributes {
  id: number;
  refHash: string;
  ciName: string | null;
  ciUrl: string | null;
  ciVote: boolean | null;
  ciInProgress: boolean | null;
  timestamp: number | null;
  notes: string | null;
  user: string | null;
}

/** A commit's repository promoted under a name such as `current-passed-ci`. */
export interface PromotionAttributes {
  id: number;
  commitId: number;
  promotionName: string;
  timestamp: number;
  user: string | null;
  component: string | null;
  aggregateHash: string | null;
}

/** An API user; `password` is a SHA-512 crypt string (`$6$...`). */
interface UserAttributes {
  username: string;
  password: string;
}

type WithDefaults<T, K extends keyof T> = Optional<T, K>;
type Nullables<T> = { [K in keyof T]: null extends T[K] ? K : never }[keyof T];

export type CommitModel = Model<
  CommitAttributes,
  WithDefaults<CommitAttributes, 'id' | Nullables<CommitAttributes>>
>;
export type ProjectModel = Model<
  ProjectAttributes,
  WithDefaults<ProjectAttributes, 'id' | Nullables<ProjectAttributes>>
>;
export type CiVoteModel = Model<
  CiVoteAttributes,
  WithDefaults<CiVoteAttributes, 'id' | Nullables<CiVoteAttributes>>
>;
export type CiVoteAggModel = Model<
  CiVoteAggAttributes,
  WithDefaults<CiVoteAggAttributes, 'id' | Nullables<CiVoteAggAttributes>>
>;
export type PromotionModel = Model<
  PromotionAttributes,
  WithDefaults<PromotionAttributes, 'id' | Nullables<PromotionAttributes>>
>;
export type UserModel = Model<UserAttributes, UserAttributes>;

export interface Models {
  Commit: ModelStatic<CommitModel>;
  Project: ModelStatic<ProjectModel>;
  CiVote: ModelStatic<CiVoteModel>;
  CiVoteAgg: ModelStatic<CiVoteAggModel>;
  Promotion: ModelStatic<PromotionModel>;
  User: ModelStatic<UserModel>;
}

/** `commit_hash` → `commitHash`. */
export const camelCase = (column: string): string =>
  column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

const dataType = (type: ColumnType) => {
  if (typeof type === 'object') return DataTypes.STRING(type.varchar);
  if (type === 'integer') return DataTypes.INTEGER;
  if (type === 'text') return DataTypes.TEXT;
  return DataTypes.BOOLEAN;
};

/** DLRN's defaults are client-side (SQLAlchemy `default=`), never in the DDL. */
const CLIENT_DEFAULTS: Record<string, Record<string, unknown>> = {
  commits: { type: 'rpm', flags: 0 },
};

const attributesOf = (table: TableDef): Record<string, ModelAttributeColumnOptions> =>
  Object.fromEntries(
    table.columns.map((c) => {
      const options: ModelAttributeColumnOptions = {
        type: dataType(c.type),
        field: c.name,
        allowNull: c.nullable,
        primaryKey: c.primaryKey ?? false,
        autoIncrement: c.autoIncrement ?? false,
      };
      const def = CLIENT_DEFAULTS[table.name]?.[c.name];
      if (def !== undefined) options.defaultValue = def;
      return [camelCase(c.name), options];
    }),
  );

const table = (name: string): TableDef => {
  const found = DLRN_TABLES.find((t) => t.name === name);
  if (!found) throw new Error(`no DLRN table ${name}`);
  return found;
};

/** Defines the models on a connection (no I/O). */
export const defineModels = (sequelize: Sequelize): Models => {
  const define = <M extends Model>(modelName: string, tableName: string) =>
    sequelize.define<M>(modelName, attributesOf(table(tableName)) as ModelAttributes<M>, {
      tableName,
      freezeTableName: true,
      timestamps: false,
    });
  const models: Models = {
    Commit: define<CommitModel>('Commit', 'commits'),
    Project: define<ProjectModel>('Project', 'projects'),
    CiVote: define<CiVoteModel>('CiVote', 'civotes'),
    CiVoteAgg: define<CiVoteAggModel>('CiVoteAgg', 'civotes_agg'),
    Promotion: define<PromotionModel>('Promotion', 'promotions'),
    User: define<UserModel>('User', 'users'),
  };
  models.Commit.hasMany(models.CiVote, { foreignKey: 'commitId', constraints: false });
  models.CiVote.belongsTo(models.Commit, { foreignKey: 'commitId', constraints: false });
  models.Commit.hasMany(models.Promotion, { foreignKey: 'commitId', constraints: false });
  models.Promotion.belongsTo(models.Commit, { foreignKey: 'commitId', constraints: false });
  return models;
};
