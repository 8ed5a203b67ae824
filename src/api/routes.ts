// Routes declared once, with zod schemas for params, query, body and reply: the same declaration
// registers the fastify handler (which parses input with the schemas) and generates the OpenAPI
// document served at /v1/openapi.json.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { withDeadline } from '../db/availability.ts';
import { parseInput } from './errors.ts';

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST';
  url: string;
  summary: string;
  tag: string;
  auth: boolean;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Status and schema of the success reply, for the document. */
  reply: { status: number; schema: z.ZodType };
  handler(context: RouteContext<P, Q, B>): Promise<unknown>;
}

export function route<P, Q, B>(spec: RouteSpec<P, Q, B>): RouteSpec {
  return spec as unknown as RouteSpec;
}

export interface RouteRunner {
  /** The longest a request may take; past it the reply is 503 (the database is away or stuck). */
  timeoutMs: number;
  /** Runs before input parsing (authentication). */
  before(request: FastifyRequest, spec: RouteSpec): Promise<void>;
  /** Wraps the handler (idempotency of POSTs); returns the status and body to send. */
  around(request: FastifyRequest, spec: RouteSpec, execute: () => Promise<{ status: number; body: unknown }>): Promise<{ status: number; body: unknown; headers?: Record<string, string> }>;
}

export function registerRoutes(app: FastifyInstance, specs: readonly RouteSpec[], runner: RouteRunner): void {
  for (const spec of specs) {
    app.route({
      method: spec.method,
      url: spec.url,
      handler: async (request, reply) => {
        // Every route reads the database (authentication at least): an unreachable one must not
        // hold the request open, so the whole of it has a deadline (503 + Retry-After past it).
        const outcome = await withDeadline((async () => {
          await runner.before(request, spec);
          const params = spec.params === undefined ? undefined : parseInput(spec.params, request.params, 'params');
          const query = spec.query === undefined ? undefined : parseInput(spec.query, request.query, 'query');
          const body = spec.body === undefined ? undefined : parseInput(spec.body, request.body ?? {}, 'body');
          return runner.around(request, spec, async () => ({
            status: spec.reply.status,
            body: await spec.handler({ params, query, body, request, reply }),
          }));
        })(), runner.timeoutMs, `${spec.method} ${spec.url}`);
        if (reply.sent) return reply;
        for (const [name, value] of Object.entries(outcome.headers ?? {})) void reply.header(name, value);
        return reply.code(outcome.status).send(outcome.body);
      },
    });
  }
}

export function openApiDocument(specs: readonly RouteSpec[], info: { title: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const schema = (type: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(type, { io, unrepresentable: 'any' });
  for (const spec of specs) {
    const path = spec.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, type] of [['path', spec.params], ['query', spec.query]] as const) {
      if (type === undefined) continue;
      const json = schema(type, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, property] of Object.entries(json.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: property });
      }
    }
    if (spec.method === 'POST') {
      parameters.push({ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 }, description: 'The same key with the same body returns the first response; with another body, 409.' });
    }
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[spec.method.toLowerCase()] = {
      summary: spec.summary,
      tags: [spec.tag],
      security: spec.auth ? [{ bearer: [] }, { basic: [] }, { apiKey: [] }] : [],
      parameters,
      ...(spec.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: schema(spec.body, 'input') } } } }),
      responses: {
        [String(spec.reply.status)]: { description: 'Success', content: { 'application/json': { schema: schema(spec.reply.schema, 'output') } } },
        default: { description: 'Error', content: { 'application/json': { schema: schema(ErrorReplySchema, 'output') } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <secret> or Bearer <key>:<secret>' },
        basic: { type: 'http', scheme: 'basic', description: 'Authorization: Basic base64(<key>:<secret>)' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'x-api-key: <secret>, with merchant-id: <merchant>' },
      },
    },
  };
}

export const ErrorReplySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown() }),
});
