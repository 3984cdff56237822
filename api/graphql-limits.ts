/**
 * What one GraphQL request may ask for, checked before anything runs: the depth of its
 * selections, the number of aliased fields, and a cost that stands for the rows it can read. The
 * operation is measured with its fragments expanded, so a fragment spread many times counts each
 * time. A list field costs the most rows it can answer (its `limit` or 100; `packageStatus`
 * without a project is one row per package, counted as 1,000) times one plus the cost of a row's
 * fields; any other field costs 1.
 */
import {
  getNamedType,
  getNullableType,
  GraphQLList,
  GraphQLObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

interface GraphqlLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
}

interface GraphqlMeasure {
  depth: number;
  aliases: number;
  cost: number;
}

const ROWS = 100;
const UNBOUNDED_ROWS = 1_000;

const rowsOf = (
  fieldName: string,
  args: readonly { name: { value: string }; value: ValueNode }[],
  variables: Record<string, unknown>,
): number => {
  const arg = (name: string): unknown => {
    const node = args.find((a) => a.name.value === name)?.value;
    if (!node) return undefined;
    if (node.kind === Kind.VARIABLE) return variables[node.name.value];
    return node.kind === Kind.INT || node.kind === Kind.STRING ? node.value : undefined;
  };
  if (fieldName === 'packageStatus') return arg('projectName') ? 1 : UNBOUNDED_ROWS;
  const limit = Number(arg('limit'));
  return Number.isInteger(limit) && limit > 0 && limit < ROWS ? limit : ROWS;
};

/** Depth, aliases and cost of the operation that will run (the document passed validation). */
export const measureOperation = (
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> = {},
): GraphqlMeasure => {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((f) => [f.name.value, f]),
  );
  let aliases = 0;
  let depth = 0;
  const walk = (set: SelectionSetNode, parent: GraphQLObjectType, level: number): number => {
    depth = Math.max(depth, level);
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) aliases++;
        const field = parent.getFields()[selection.name.value];
        const type = field ? getNullableType(field.type) : undefined;
        const named = type ? getNamedType(type) : undefined;
        const inner =
          selection.selectionSet && named instanceof GraphQLObjectType
            ? walk(selection.selectionSet, named, level + 1)
            : 0;
        cost +=
          type instanceof GraphQLList
            ? rowsOf(selection.name.value, selection.arguments ?? [], variables) * (1 + inner)
            : 1 + inner;
      } else {
        const fragment =
          selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
        const condition = fragment?.typeCondition
          ? schema.getType(fragment.typeCondition.name.value)
          : parent;
        if (fragment && condition instanceof GraphQLObjectType)
          cost += walk(fragment.selectionSet, condition, level);
      }
    }
    return cost;
  };
  const root = schema.getQueryType();
  const cost = operation && root ? walk(operation.selectionSet, root, 1) : 0;
  return { depth, aliases, cost };
};

/** The limits an operation exceeds, in words; empty when it may run. */
export const exceeded = (measure: GraphqlMeasure, limits: GraphqlLimits): string[] => {
  const out: string[] = [];
  if (measure.depth > limits.maxDepth)
    out.push(`the query is ${measure.depth} levels deep, more than ${limits.maxDepth}`);
  if (measure.aliases > limits.maxAliases)
    out.push(`the query has ${measure.aliases} aliases, more than ${limits.maxAliases}`);
  if (measure.cost > limits.maxCost)
    out.push(`the query may cost ${measure.cost}, more than ${limits.maxCost}`);
  return out;
};
