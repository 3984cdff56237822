/**
 * `GET|POST /api/graphql`: DLRN's GraphQL schema (dlrn-spec §7.4) with graphql-js: `commits`,
 * `civote`, `civoteAgg` and `packageStatus`, their filters, newest first, `limit` 100 by default
 * and at most. A malformed query or an unknown field is a 400 with GraphQL's errors.
 *
 * One difference: without `projectName`, `packageStatus` lists the packages the database knows
 * (DLRN asks the package-info driver, which the API process does not run).
 */
import {
  execute,
  GraphQLBoolean,
  GraphQLError,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  validate,
  type DocumentNode,
  type GraphQLFieldConfigMap,
} from 'graphql';
import type { Context } from 'koa';
import { Op, type WhereOptions } from 'sequelize';
import type { CiVoteAggAttributes, CiVoteAttributes, CommitAttributes, Database } from '../lib/db/index.ts';
import type { ApiDeps } from './context.ts';
import { exceeded, measureOperation } from './graphql-limits.ts';
import { rawParams } from './params.ts';
import { InputError } from '../lib/domain/errors.ts';

const LIMIT = 100;

/** Relay's global id, as graphene makes it: base64 of `<Type>:<id>`. */
const globalId = (type: string, id: number): string => Buffer.from(`${type}:${id}`).toString('base64');

const scalarFields = (
  fields: Record<string, typeof GraphQLString | typeof GraphQLInt | typeof GraphQLBoolean>,
) => Object.fromEntries(Object.entries(fields).map(([name, type]) => [name, { type }]));

const CommitType = new GraphQLObjectType<CommitAttributes>({
  name: 'Commit',
  fields: {
    id: { type: new GraphQLNonNull(GraphQLID), resolve: (c) => globalId('Commit', c.id) },
    ...scalarFields({
      type: GraphQLString,
      dtCommit: GraphQLInt,
      dtDistro: GraphQLInt,
      dtExtended: GraphQLInt,
      dtBuild: GraphQLInt,
      projectName: GraphQLString,
      repoDir: GraphQLString,
      distgitDir: GraphQLString,
      commitHash: GraphQLString,
      distroHash: GraphQLString,
      extendedHash: GraphQLString,
      commitBranch: GraphQLString,
      status: GraphQLString,
      component: GraphQLString,
      artifacts: GraphQLString,
      notes: GraphQLString,
      flags: GraphQLInt,
      versionsCsv: GraphQLString,
    }),
  } as GraphQLFieldConfigMap<CommitAttributes, GqlContext>,
});

interface GqlContext {
  db: Database;
}

const voteFields = {
  ciName: GraphQLString,
  ciUrl: GraphQLString,
  ciVote: GraphQLBoolean,
  ciInProgress: GraphQLBoolean,
  timestamp: GraphQLInt,
  notes: GraphQLString,
  user: GraphQLString,
};

const CIVoteType = new GraphQLObjectType<CiVoteAttributes, GqlContext>({
  name: 'CIVote',
  fields: {
    id: { type: new GraphQLNonNull(GraphQLID), resolve: (v) => globalId('CIVote', v.id) },
    commitId: { type: GraphQLInt },
    ...scalarFields({ ...voteFields, component: GraphQLString }),
    commit: {
      type: CommitType,
      resolve: async (v, _args, ctx) =>
        (await ctx.db.models.Commit.findByPk(v.commitId))?.get({ plain: true }),
    },
  },
});

const CIVoteAggType = new GraphQLObjectType<CiVoteAggAttributes>({
  name: 'CIVoteAgg',
  fields: {
    id: { type: new GraphQLNonNull(GraphQLID), resolve: (v) => globalId('CIVoteAgg', v.id) },
    refHash: { type: GraphQLString },
    ...scalarFields(voteFields),
  },
});

interface PackageStatusRow {
  id: number;
  projectName: string;
  status: string;
  lastSuccess: string | null;
  firstFailureCommit: string | null;
}

const PackageStatusType = new GraphQLObjectType<PackageStatusRow>({
  name: 'PackageStatus',
  fields: {
    id: { type: new GraphQLNonNull(GraphQLID) },
    projectName: { type: new GraphQLNonNull(GraphQLString) },
    status: { type: new GraphQLNonNull(GraphQLString) },
    lastSuccess: { type: GraphQLString, description: 'ISO date and time of the last successful build' },
    firstFailureCommit: { type: GraphQLString },
  },
});

const IntFilter = new GraphQLInputObjectType({
  name: 'IntFilter',
  fields: {
    gt: { type: GraphQLInt },
    gte: { type: GraphQLInt },
    lt: { type: GraphQLInt },
    lte: { type: GraphQLInt },
    eq: { type: GraphQLInt },
  },
});
const whereType = (name: string) =>
  new GraphQLInputObjectType({ name, fields: { timestamp: { type: IntFilter } } });
const CIVoteWhere = whereType('CIVoteWhere');
const CIVoteAggWhere = whereType('CIVoteAggWhere');

interface IntFilterValue {
  gt?: number | null;
  gte?: number | null;
  lt?: number | null;
  lte?: number | null;
  eq?: number | null;
}

const timestampFilter = (where: { timestamp?: IntFilterValue | null } | null | undefined) => {
  const f = where?.timestamp;
  if (!f) return [];
  const ops: [keyof IntFilterValue, symbol][] = [
    ['gt', Op.gt],
    ['gte', Op.gte],
    ['lt', Op.lt],
    ['lte', Op.lte],
    ['eq', Op.eq],
  ];
  return ops.flatMap(([key, op]) =>
    f[key] === undefined || f[key] === null ? [] : [{ timestamp: { [op]: f[key] } }],
  );
};

const page = (args: { offset?: number | null; limit?: number | null }) => ({
  offset: args.offset ?? 0,
  limit: Math.min(args.limit ?? LIMIT, LIMIT),
});

type Args = Record<string, unknown>;
const s = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const b = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const n = (v: unknown): number | undefined => (typeof v === 'number' && v !== 0 ? v : undefined);

const byFields = (pairs: [string, unknown][]) =>
  pairs.flatMap(([key, value]) => (value === undefined ? [] : [{ [key]: value }]));

const Query = new GraphQLObjectType<unknown, GqlContext>({
  name: 'Query',
  fields: {
    commits: {
      type: new GraphQLList(CommitType),
      args: {
        projectName: { type: GraphQLString },
        component: { type: GraphQLString },
        status: { type: GraphQLString },
        offset: { type: GraphQLInt },
        limit: { type: GraphQLInt },
        commitHash: { type: GraphQLString },
        distroHash: { type: GraphQLString },
        extendedHash: { type: GraphQLString },
      },
      resolve: async (_root, args: Args, { db }) => {
        const where: WhereOptions<CommitAttributes>[] = byFields([
          ['projectName', s(args.projectName)],
          ['component', s(args.component)],
          ['status', s(args.status)],
          ['commitHash', s(args.commitHash)],
          ['distroHash', s(args.distroHash)],
        ]);
        // DLRN matches extendedHash as an SQL LIKE pattern.
        if (s(args.extendedHash)) where.push({ extendedHash: { [Op.like]: s(args.extendedHash) } });
        const rows = await db.models.Commit.findAll({
          where: { [Op.and]: where },
          order: [['id', 'DESC']],
          ...page(args),
        });
        return rows.map((r) => r.get({ plain: true }));
      },
    },
    civote: {
      type: new GraphQLList(CIVoteType),
      args: {
        commitId: { type: GraphQLInt },
        ciName: { type: GraphQLString },
        ciVote: { type: GraphQLBoolean },
        ciInProgress: { type: GraphQLBoolean },
        timestamp: { type: GraphQLInt },
        user: { type: GraphQLString },
        component: { type: GraphQLString },
        offset: { type: GraphQLInt },
        limit: { type: GraphQLInt },
        where: { type: CIVoteWhere },
      },
      resolve: async (_root, args: Args, { db }) => {
        const where = [
          ...byFields([
            ['commitId', n(args.commitId)],
            ['ciName', s(args.ciName)],
            ['ciVote', b(args.ciVote)],
            ['ciInProgress', b(args.ciInProgress)],
            ['timestamp', n(args.timestamp)],
            ['user', s(args.user)],
            ['component', s(args.component)],
          ]),
          ...timestampFilter(args.where as { timestamp?: IntFilterValue }),
        ];
        const rows = await db.models.CiVote.findAll({
          where: { [Op.and]: where },
          order: [['id', 'DESC']],
          ...page(args),
        });
        return rows.map((r) => r.get({ plain: true }));
      },
    },
    civoteAgg: {
      type: new GraphQLList(CIVoteAggType),
      args: {
        refHash: { type: GraphQLString },
        ciName: { type: GraphQLString },
        ciVote: { type: GraphQLBoolean },
        ciInProgress: { type: GraphQLBoolean },
        timestamp: { type: GraphQLInt },
        user: { type: GraphQLString },
        offset: { type: GraphQLInt },
        limit: { type: GraphQLInt },
        lastRefHash: { type: GraphQLBoolean },
        where: { type: CIVoteAggWhere },
      },
      resolve: async (_root, args: Args, { db }) => {
        const { CiVoteAgg } = db.models;
        const tsFilter = timestampFilter(args.where as { timestamp?: IntFilterValue });
        if (args.lastRefHash) {
          if (s(args.refHash) || n(args.timestamp) || tsFilter.length > 0)
            throw new GraphQLError(
              'refHash/timestamp/where.timestamp and last_ref_hash cannot be provided in the same query',
            );
          const newest = await CiVoteAgg.findOne({ order: [['timestamp', 'DESC']] });
          if (newest) {
            const rows = await CiVoteAgg.findAll({
              where: { refHash: newest.getDataValue('refHash') },
              order: [['id', 'DESC']],
              ...page(args),
            });
            return rows.map((r) => r.get({ plain: true }));
          }
        }
        const where = [
          ...byFields([
            ['refHash', s(args.refHash)],
            ['ciName', s(args.ciName)],
            ['ciVote', b(args.ciVote)],
            ['ciInProgress', b(args.ciInProgress)],
            ['timestamp', n(args.timestamp)],
            ['user', s(args.user)],
          ]),
          ...tsFilter,
        ];
        const rows = await CiVoteAgg.findAll({
          where: { [Op.and]: where },
          order: [['id', 'DESC']],
          ...page(args),
        });
        return rows.map((r) => r.get({ plain: true }));
      },
    },
    packageStatus: {
      type: new GraphQLList(PackageStatusType),
      args: { projectName: { type: GraphQLString }, status: { type: GraphQLString } },
      resolve: async (_root, args: Args, { db }) => {
        const { Commit } = db.models;
        const names = s(args.projectName)
          ? [s(args.projectName) ?? '']
          : (await Commit.findAll({ attributes: ['projectName'], group: ['projectName'] }))
              .map((r) => r.getDataValue('projectName') ?? '')
              .filter(Boolean)
              .sort();
        const result: PackageStatusRow[] = [];
        for (const [id, name] of names.entries()) {
          const last = await Commit.findOne({
            where: { projectName: name, type: 'rpm' },
            order: [['id', 'DESC']],
          });
          const raw = last?.getDataValue('status') ?? null;
          if (s(args.status) && raw !== s(args.status)) continue;
          if (!last) {
            result.push({
              id,
              projectName: name,
              status: 'NO_BUILD',
              lastSuccess: null,
              firstFailureCommit: null,
            });
          } else if (raw === 'SUCCESS') {
            result.push({
              id,
              projectName: name,
              status: 'SUCCESS',
              lastSuccess: null,
              firstFailureCommit: null,
            });
          } else {
            const success = await Commit.findOne({
              where: { projectName: name, type: 'rpm', status: 'SUCCESS' },
              order: [['dtBuild', 'DESC']],
            });
            result.push({
              id,
              projectName: name,
              status: 'FAILED',
              lastSuccess: new Date((success?.getDataValue('dtBuild') ?? 0) * 1000).toISOString(),
              firstFailureCommit: last.getDataValue('commitHash'),
            });
          }
        }
        return result;
      },
    },
  },
});

const schema = new GraphQLSchema({ query: Query });

/** Tokens a query may have (graphql-js stops parsing there): bounds the parser's work. */
const MAX_TOKENS = 5_000;

const refused = (ctx: Context, messages: string[]): void => {
  ctx.status = 400;
  ctx.body = { errors: messages.map((message) => ({ message })) };
};

/**
 * Serves a GraphQL request from the query string (GET) or a JSON body (POST). The query is
 * parsed, validated and measured (api/graphql-limits.ts) before it runs; one over the limits of
 * `[api]` is refused with 400.
 */
export const serveGraphql =
  ({ db, config }: Pick<ApiDeps, 'db' | 'config'>) =>
  async (ctx: Context): Promise<void> => {
    const params = rawParams(ctx);
    const query = params.query;
    if (typeof query !== 'string' || query.trim() === '') throw new InputError('Must provide query string.');
    let variables = params.variables;
    if (typeof variables === 'string') {
      try {
        variables = JSON.parse(variables) as unknown;
      } catch {
        throw new InputError('Variables are invalid JSON.');
      }
    }
    const variableValues =
      variables && typeof variables === 'object' && !Array.isArray(variables)
        ? (variables as Record<string, unknown>)
        : undefined;
    const operationName = typeof params.operationName === 'string' ? params.operationName : undefined;
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: MAX_TOKENS });
    } catch (err) {
      return refused(ctx, [err instanceof GraphQLError ? err.message : String(err)]);
    }
    const invalid = validate(schema, document);
    if (invalid.length > 0)
      return refused(
        ctx,
        invalid.map((e) => e.message),
      );
    const over = exceeded(measureOperation(schema, document, operationName, variableValues), {
      maxDepth: config.api.graphqlMaxDepth,
      maxAliases: config.api.graphqlMaxAliases,
      maxCost: config.api.graphqlMaxCost,
    });
    if (over.length > 0) return refused(ctx, over);
    const result = await execute({
      schema,
      document,
      contextValue: { db } satisfies GqlContext,
      ...(variableValues ? { variableValues } : {}),
      ...(operationName ? { operationName } : {}),
    });
    ctx.status = result.errors && !result.data ? 400 : 200;
    ctx.body = result;
  };
