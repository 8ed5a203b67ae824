// What happens to a request around the routes: the JSON body parser (empty bodies allowed, nesting
// bounded, unknown routes never parsed), the replies to requests that never reach a route (bad
// header, headers too large, a body that does not arrive in time, a malformed URL), security
// headers and the request id on every reply, and one log line per request. Every error reply,
// even one written straight to the socket, is in the one error shape.

import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { jsonProblem } from '../invoices/input.ts';
import { errorBody, validationError } from './errors.ts';

/** Deepest nesting of any JSON body: deeper values would exhaust the stack of code that walks them
 * (JSON.stringify, canonical hashing); no route needs more than its fields allow. */
export const JSON_BODY_DEPTH_MAX = 64;

/** Headers on every reply: no MIME sniffing, no Referer leaving the page, no framing, nothing
 * loaded by default. Pages that load something (the checkout) set their own policy. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

/** application/json bodies: an empty one is no body (clients send the header on every request),
 * a body to an unknown route is not parsed (that request is a 404 whatever it carries), and nesting
 * past JSON_BODY_DEPTH_MAX is a 400. */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (request.is404 || text.length === 0) return done(null, undefined);
    parse(request, text, (error: Error | null, value?: unknown) => {
      if (error !== null) return done(error, undefined);
      const problem = jsonProblem(value, JSON_BODY_DEPTH_MAX, true);
      if (problem !== undefined) {
        return done(validationError([{ field: ['body', ...problem.path].join('.'), message: problem.message }]), undefined);
      }
      done(null, value);
    });
  });
}

interface ClientErrorReply {
  status: number;
  code: string;
  message: string;
}

function clientErrorReply(errorCode: string | undefined): ClientErrorReply {
  switch (errorCode) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'request_timeout', message: 'the request did not arrive in time' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'headers_too_large', message: 'the request headers are too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'body_too_large', message: 'the chunk extensions are too large' };
    default:
      return { status: 400, code: 'invalid_request', message: 'the request is not valid HTTP' };
  }
}

/** node's 'clientError': the request could not be parsed or did not arrive in time, so no route
 * (and no fastify reply) exists. Answer on the socket, in the error shape, and close it. */
export function clientErrorHandler(logger: Logger, newRequestId: () => string): (error: NodeJS.ErrnoException, socket: Duplex) => void {
  return (error, socket) => {
    // A reset connection has nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const reply = clientErrorReply(error.code);
    const requestId = newRequestId();
    logger.info({ reqId: requestId, status: reply.status, code: error.code }, 'request refused before routing');
    // Answer only when no reply has started on this connection (as node does), else the client would read a corrupt stream.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && inFlight?.headersSent !== true) {
      const body = JSON.stringify(errorBody(reply.code, reply.message, { request_id: requestId }));
      const headers = {
        ...SECURITY_HEADERS,
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
        'x-request-id': requestId,
        connection: 'close',
      };
      const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
      socket.write(`HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'Error'}\r\n${head}\r\n${body}`);
    }
    socket.destroy();
  };
}

function frameworkErrorReply(errorCode: string): ClientErrorReply {
  switch (errorCode) {
    case 'FST_ERR_BAD_URL':
      return { status: 400, code: 'invalid_url', message: 'the URL is not valid (bad percent-encoding)' };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, code: 'uri_too_long', message: 'a path segment is too long' };
    default:
      return { status: 400, code: 'invalid_request', message: 'the request cannot be routed' };
  }
}

/** fastify's errors before routing (a URL that does not decode, a path parameter over the length limit). */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const answer = frameworkErrorReply(error.code);
  // These replies skip the onSend hooks, so they get the headers here. The body was never read:
  // close the connection so its bytes are not taken for the next request on it.
  void reply
    .headers({ ...SECURITY_HEADERS, 'x-request-id': request.id, connection: 'close' })
    .code(answer.status)
    .send(errorBody(answer.code, answer.message, { request_id: request.id }));
}

/** Security headers and the request id on every reply; one log line per request with its id. */
export function installReplyHeadersAndLog(app: FastifyInstance, logger: Logger): void {
  app.addHook('onSend', async (request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      if (!reply.hasHeader(name)) void reply.header(name, value);
    }
    void reply.header('x-request-id', request.id);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    logger.debug({ reqId: request.id, method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
}
