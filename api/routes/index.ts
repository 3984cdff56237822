import { Router } from '@koa/router';
import type { Middleware } from 'koa';
import type { ApiDeps, ApiState } from '../context.ts';
import { buildRoutes } from './builds.ts';
import { promotionRoutes } from './promotions.ts';
import { voteRoutes } from './votes.ts';
import { workflowRoutes } from './workflows.ts';
import { pageRoutes } from '../pages.ts';

export interface Auth {
  read: Middleware<ApiState>;
  write: Middleware<ApiState>;
  /** After `read` on the answers CI systems poll: api/read-cache.ts. */
  cached: Middleware<ApiState>;
}

export const createRouter = (deps: ApiDeps, auth: Auth): Router<ApiState> => {
  const router = new Router<ApiState>();
  buildRoutes(router, deps, auth);
  voteRoutes(router, deps, auth);
  promotionRoutes(router, deps, auth);
  workflowRoutes(router, deps, auth);
  pageRoutes(router, deps, auth);
  return router;
};
