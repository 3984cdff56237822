/** The API's routes: each module builds its own router; this one mounts them. */
import { Router } from '@koa/router';
import type { ApiDeps, ApiState, Auth } from '../context.ts';
import { buildRoutes } from './builds.ts';
import { pageRoutes } from './pages.ts';
import { promotionRoutes } from './promotions.ts';
import { promotionStatusRoutes } from './promotion-status.ts';
import { voteRoutes } from './votes.ts';
import { waiverRoutes } from './waivers.ts';
import { workflowRoutes } from './workflows.ts';

export const createRouter = (deps: ApiDeps, auth: Auth): Router<ApiState> => {
  const router = new Router<ApiState>();
  for (const routes of [
    buildRoutes,
    voteRoutes,
    promotionRoutes,
    promotionStatusRoutes,
    waiverRoutes,
    workflowRoutes,
    pageRoutes,
  ])
    router.use(routes(deps, auth).routes());
  return router;
};
