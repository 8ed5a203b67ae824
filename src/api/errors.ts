// One error shape for every API reply: {"error":{"code","message","details"}}. Bad input is a
// 4xx naming the field at fault; nothing a client sends can produce a 500.

import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { RetryableError } from '../errors.ts';
import { isDatabaseUnavailable } from '../db/availability.ts';

/** Seconds a client is told to wait before retrying a request that hit a passing condition. */
export const RETRY_AFTER_S = 2;

/** Passing conditions a client may be told by name (503), with what to tell it; others are `temporarily_unavailable`. */
const PASSING_CONDITIONS: Readonly<Record<string, string>> = {
  address_pool_exhausted: 'no deposit address is free at this moment; more are being derived, retry shortly',
  rate_unavailable: 'no fresh USD rate for this asset at this moment; retry shortly, or give the amount in the asset',
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = undefined,
    /** Headers sent with the error reply (Retry-After of a 429). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface FieldProblem {
  field: string;
  message: string;
}

export function validationError(problems: FieldProblem[]): ApiError {
  const fields = problems.map((p) => p.field).join(', ');
  return new ApiError(400, 'validation_failed', `invalid request: ${fields}`, { fields: problems });
}

export function zodProblems(error: z.ZodError, prefix: string): FieldProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? `${prefix}.${issue.path.join('.')}` : prefix;
    if (issue.code === 'unrecognized_keys') return { field: path, message: `unknown field(s): ${issue.keys.join(', ')}` };
    return { field: path, message: issue.message };
  });
}

/** Parses `value` with `schema`; a mismatch is a 400 naming each bad field under `where` (body, query, params). */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(zodProblems(result.error, where));
  return result.data;
}

export function errorBody(code: string, message: string, details?: unknown): { error: { code: string; message: string; details: unknown } } {
  return { error: { code, message, details: details ?? null } };
}

export function installErrorHandling(app: FastifyInstance, logger: Logger): void {
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
  app.setErrorHandler((error: FastifyError | ApiError | Error, request, reply) => {
    if (error instanceof ApiError) {
      logger.debug({ reqId: request.id, status: error.status, code: error.code }, 'request refused');
      return reply.code(error.status).headers(error.headers).send(errorBody(error.code, error.message, error.details));
    }
    const fastifyError = error as FastifyError;
    switch (fastifyError.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.code(413).send(errorBody('body_too_large', 'the request body exceeds the size limit'));
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply.code(415).send(errorBody('unsupported_media_type', 'send the body as application/json'));
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply.code(400).send(errorBody('invalid_json', 'the body is empty but the content type is application/json'));
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return reply.code(400).send(errorBody('invalid_request', 'the Content-Length does not match the body'));
      default:
        break;
    }
    if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      // Malformed JSON and the like: fastify already knows it is the client's fault.
      const code = error instanceof SyntaxError || /JSON/i.test(error.message) ? 'invalid_json' : 'invalid_request';
      logger.debug({ reqId: request.id, status: fastifyError.statusCode, code, err: error }, 'request refused');
      return reply.code(fastifyError.statusCode).send(errorBody(code, error.message));
    }
    if (error instanceof RetryableError || isDatabaseUnavailable(error)) {
      // A passing condition on our side (no free deposit address until the pool refills, the
      // database briefly away): 503 with Retry-After, so the client's retry succeeds. Nothing was
      // stored for an Idempotency-Key, so the retry may reuse it. Internals stay in the log.
      logger.warn({ reqId: request.id, err: error, method: request.method, url: request.url }, 'request failed on a passing condition; the client is told to retry');
      // A lost or refused database connection (postgres.js, node) is one too; its internals stay here.
      const code = error instanceof RetryableError && error.code in PASSING_CONDITIONS ? error.code : 'temporarily_unavailable';
      const message = PASSING_CONDITIONS[code] ?? 'the service is briefly unavailable; retry shortly';
      return reply.code(503).header('retry-after', String(RETRY_AFTER_S)).send(errorBody(code, message, { request_id: request.id }));
    }
    logger.error({ reqId: request.id, err: error, method: request.method, url: request.url }, 'request failed');
    return reply.code(500).send(errorBody('internal_error', 'internal error; the request id is in the logs', { request_id: request.id }));
  });
}
