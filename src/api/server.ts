// The HTTP server: operational endpoints (/health, /metrics), the native API under /v1 (with its
// OpenAPI document) and the hosted checkout. Handlers parse, call a service and shape the reply;
// no business logic lives here.

import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Histogram } from 'prom-client';
import type { Common } from '../common.ts';
import type { Health } from '../health.ts';
import type { Sql } from '../db/client.ts';
import { authenticateRequest, type AuthLimits, type Principal } from './auth.ts';
import { FailureLimiter } from './auth-limit.ts';
import { withDeadline } from '../db/availability.ts';
import { installErrorHandling, RETRY_AFTER_S } from './errors.ts';
import { clientErrorHandler, frameworkErrorHandler, installJsonBodyParser, installReplyHeadersAndLog } from './transport.ts';
import { requestHash, withIdempotency } from './idempotency.ts';
import { openApiDocument, registerRoutes, type RouteSpec } from './routes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface HttpServerDeps {
  common: Common;
  health: Health;
  sql: Sql;
  /** API routes (native /v1 and others) and extra plugins (checkout pages). */
  routes?: RouteSpec[];
  plugins?: Array<(app: FastifyInstance) => void>;
}

export function createHttpServer({ common, health, sql, routes = [], plugins = [] }: HttpServerDeps): FastifyInstance {
  const settings = common.config.http;
  const newRequestId = () => common.random.bytes(8).toString('hex');
  const app = Fastify({
    logger: false,
    bodyLimit: settings.bodyLimitBytes,
    // Request ids in logs and replies help operators trace a call.
    genReqId: newRequestId,
    // Behind a proxy, set up trust there; here the socket address is the client.
    trustProxy: false,
    // A client that never finishes its headers or body is answered 408 and cut off, so slow or
    // stalled requests cannot hold connections open. node checks the deadlines on an interval,
    // a fraction of the shortest one so a deadline is not overshot by much.
    requestTimeout: settings.requestTimeoutMs,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    connectionTimeout: settings.connectionTimeoutMs,
    http: {
      headersTimeout: settings.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(settings.headersTimeoutMs / 4))),
    },
    clientErrorHandler: clientErrorHandler(common.logger, newRequestId),
    frameworkErrors: frameworkErrorHandler,
  });
  installErrorHandling(app, common.logger);
  installJsonBodyParser(app);
  installReplyHeadersAndLog(app, common.logger);
  const authLimits: AuthLimits = {
    address: new FailureLimiter({ burst: settings.authFailures.addressBurst, perMinute: settings.authFailures.addressPerMinute, trackedMax: settings.authFailures.trackedMax }, common.clock),
    key: new FailureLimiter({ burst: settings.authFailures.keyBurst, perMinute: settings.authFailures.keyPerMinute, trackedMax: settings.authFailures.trackedMax }, common.clock),
  };

  const duration = new Histogram({
    name: 'settle_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [common.metrics],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.get('/health', async (_request, reply) => {
    const database = await withDeadline(sql`select 1 as ok`, common.config.database.requestTimeoutMs, 'health check').then(
      () => 'ok' as const,
      (error: Error) => {
        health.set('database', 'down', error.message);
        return 'down' as const;
      },
    );
    if (database === 'ok') health.set('database', 'ok');
    const snapshot = health.snapshot();
    // The database away is a passing condition: a load balancer or client may come back shortly.
    if (database === 'down') void reply.header('retry-after', String(RETRY_AFTER_S));
    return reply.code(snapshot.status === 'down' ? 503 : 200).send(snapshot);
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await common.metrics.metrics();
    return reply.type(common.metrics.contentType).send(text);
  });

  if (routes.length > 0) {
    const document = openApiDocument(routes, { title: 'Settle API', version: '1' });
    app.get('/v1/openapi.json', async () => document);
    registerRoutes(app, routes, {
      timeoutMs: common.config.database.requestTimeoutMs,
      async before(request: FastifyRequest, spec: RouteSpec) {
        if (spec.auth) request.principal = await authenticateRequest(sql, request, authLimits);
      },
      async around(request, spec, execute) {
        const key = request.headers['idempotency-key'];
        const merchantId = request.principal?.merchantId;
        if (spec.method !== 'POST' || typeof key !== 'string' || merchantId === undefined) return execute();
        const hash = requestHash(request.method, request.url, request.body ?? null);
        const outcome = await withIdempotency(sql, merchantId, key, hash, execute);
        // The stored JSON text goes out as it is: a replay is the first response byte for byte.
        return { status: outcome.status, body: outcome.bodyJson, headers: { 'idempotent-replayed': String(outcome.replayed), 'content-type': 'application/json; charset=utf-8' } };
      },
    });
  }
  for (const plugin of plugins) plugin(app);
  return app;
}
