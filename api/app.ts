/**
 * The DLRN API on Koa: DLRN's paths, parameters, fields and status codes (dlrn-spec §7), over
 * the same database the builders write.
 */
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import { createAuthenticator } from './auth.ts';
import type { ApiDeps, ApiState } from './context.ts';
import { errorMiddleware, HttpError } from './errors.ts';
import { serveGraphql } from './graphql.ts';
import { floatJson } from './json.ts';
import { createMetrics } from './metrics.ts';
import { createPromotionWaker } from './promotion-wake.ts';
import { createReadCache } from './read-cache.ts';
import { createRouter } from './routes/index.ts';

export const createApp = (given: ApiDeps): Koa<ApiState> => {
  const deps: ApiDeps = { ...given, wakePromotions: given.wakePromotions ?? createPromotionWaker(given) };
  const app = new Koa<ApiState>();
  app.proxy = true;
  const metrics = createMetrics(deps);
  app.use(errorMiddleware(deps.logger));
  const cache = createReadCache(deps.readCacheMs ?? deps.config.api.readCacheMs, deps.now);
  app.use(cache.dropOnWrite);
  app.use(metrics.timeRequests);
  app.use(floatJson);
  app.use(
    bodyParser({
      enableTypes: ['json'],
      // GET with a JSON body is deprecated in DLRN but accepted.
      parsedMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      jsonLimit: deps.config.api.maxBodyBytes,
      onError: (err) => {
        if ((err as { status?: number }).status === 413)
          throw new HttpError(413, `The request body is larger than ${deps.config.api.maxBodyBytes} bytes`);
        throw new HttpError(400, 'Failed to decode JSON object');
      },
    }),
  );
  const router = createRouter(deps, { ...createAuthenticator(deps), cached: cache.serve });
  // Never authenticated, as in DLRN.
  router.get('/metrics', metrics.serve);
  // Never authenticated either, as in DLRN.
  router.get('/api/graphql', serveGraphql(deps));
  router.post('/api/graphql', serveGraphql(deps));
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
};
