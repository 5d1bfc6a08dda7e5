/** Maps every failure to `{ code, message, hint }` JSON with the right status; nothing leaks a stack trace. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { DwError, isDwError, type CodedErrorLike, type ErrorCode } from '@dual-write/config';
import { isAcquireTimeout, isConnectionError } from '../db/database.ts';
import { WriteFailedError } from '../orders/write-order.ts';

export const STATUS_BY_CODE: Readonly<Partial<Record<ErrorCode, number>>> & Readonly<Record<string, number | undefined>> = {
  DW_VALIDATION: 400,
  DW_UNAUTHORIZED: 401,
  DW_FAULT_INJECTION_DISABLED: 403,
  DW_NOT_FOUND: 404,
  DW_METHOD_NOT_ALLOWED: 405,
  DW_ORDER_STATE_CONFLICT: 409,
  DW_BODY_TOO_LARGE: 413,
  DW_UNSUPPORTED_MEDIA_TYPE: 415,
  DW_DB_POOL_EXHAUSTED: 503,
  DW_DB_UNAVAILABLE: 503,
  DW_PUBLISH_FAILED: 503,
};

export function validationError(message: string, hint: string): DwError {
  return new DwError('DW_VALIDATION', message, hint);
}

/** Turns a database or Kafka failure into the DwError a client should see. */
export function toDwError(err: unknown): DwError | CodedErrorLike {
  if (isDwError(err)) return err;
  const cause = err instanceof WriteFailedError ? err.cause : err;
  if (isAcquireTimeout(cause)) {
    return new DwError('DW_DB_POOL_EXHAUSTED', 'No database connection became free in time (ConnectionAcquireTimeoutError).', 'Every pooled connection is busy — e.g. held by requests waiting on a slow Kafka. Retry later; the outbox strategy avoids this.');
  }
  if (err instanceof WriteFailedError && err.stage === 'publish') {
    return new DwError('DW_PUBLISH_FAILED', `Kafka did not acknowledge the OrderCreated event: ${(cause as Error)?.message}. The order was rolled back.`, 'Retry the request when Kafka is reachable.');
  }
  if (isConnectionError(cause)) {
    return new DwError('DW_DB_UNAVAILABLE', `The database connection failed: ${(cause as Error).message}.`, 'Retry the request; if it persists, check the database (`npm run stack -- status`).');
  }
  return new DwError('DW_DB_UNAVAILABLE', `Unexpected error: ${(cause as Error)?.message ?? String(cause)}`, 'See the service log for details.');
}

function fromFastifyError(err: FastifyError): DwError | undefined {
  if (err.validation?.length) {
    const v = err.validation[0]!;
    const where = `${err.validationContext ?? 'body'}${v.instancePath ? v.instancePath.replace(/\//g, '.') : ''}`;
    const extra = v.keyword === 'additionalProperties' ? ` (${String((v.params as { additionalProperty?: string }).additionalProperty)})` : '';
    const field = v.keyword === 'required' ? `${where}.${String((v.params as { missingProperty?: string }).missingProperty)}` : where;
    return validationError(`${field} ${v.message ?? 'is invalid'}${extra}.`, 'Fix that field; GET /openapi.json describes every request.');
  }
  if (err.statusCode === 413) return new DwError('DW_BODY_TOO_LARGE', err.message, 'Send a smaller body (at most 64 KiB).');
  if (err.statusCode === 415) return new DwError('DW_UNSUPPORTED_MEDIA_TYPE', err.message, 'Send JSON with Content-Type: application/json.');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return validationError(err.message, 'Send JSON with Content-Type: application/json.');
  }
  return undefined;
}


/** The routes' paths (`/api/v1/orders/:id`) as patterns, with the methods each one has: for 405's `Allow` header. */
class RouteMethods {
  private readonly byPath = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  add(url: string, methods: string | string[]): void {
    let entry = this.byPath.get(url);
    if (!entry) {
      const source = url.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
      entry = { pattern: new RegExp(`^${source}$`), methods: new Set() };
      this.byPath.set(url, entry);
    }
    for (const m of [methods].flat()) entry.methods.add(m.toUpperCase());
  }

  /** The methods the path of `url` has (empty when no route has that path). */
  allowed(url: string): string[] {
    const pathname = url.split('?')[0] ?? url;
    const methods = new Set<string>();
    for (const { pattern, methods: ms } of this.byPath.values()) if (pattern.test(pathname)) for (const m of ms) methods.add(m);
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  }
}

/**
 * Installs the error handler and the not-found handler. Call it before registering routes: it watches them (onRoute)
 * so that a known path asked with a method it does not have answers 405 with an `Allow` header, not 404.
 */
export function installErrorHandler(app: FastifyInstance): void {
  const routes = new RouteMethods();
  app.addHook('onRoute', (route) => routes.add(route.url, route.method));
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const fastifyErr = fromFastifyError(err);
    const dw = fastifyErr ?? toDwError(err);
    // A client error Fastify raised is 413, 415 or (any other: a malformed body, an invalid field) 400 — what the routes document.
    const status = STATUS_BY_CODE[dw.code] ?? (fastifyErr ? 400 : 500);
    if (status >= 500) request.log.warn({ err, code: dw.code }, dw.message);
    void reply.code(status).send(dw.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    const allowed = routes.allowed(request.url);
    if (allowed.length && !allowed.includes(request.method)) {
      const err = new DwError('DW_METHOD_NOT_ALLOWED', `${request.method} is not supported on ${request.url.split('?')[0]}; it supports ${allowed.join(', ')}.`, `Use one of ${allowed.join(', ')} (the Allow header); GET /openapi.json lists the routes.`);
      void reply.code(405).header('allow', allowed.join(', ')).send(err.toJSON());
      return;
    }
    void reply.code(404).send(new DwError('DW_NOT_FOUND', `No route ${request.method} ${request.url}.`, 'GET /openapi.json lists the routes.').toJSON());
  });
}
