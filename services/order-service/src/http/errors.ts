/** Maps every failure to `{ code, message, hint }` JSON with the right status; nothing leaks a stack trace. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { DwError, isDwError, type CodedErrorLike, type ErrorCode } from '@dual-write/config';
import { isAcquireTimeout, isConnectionError } from '../db/database.ts';
import { WriteFailedError } from '../orders/write-order.ts';

export const STATUS_BY_CODE: Readonly<Partial<Record<ErrorCode, number>>> & Readonly<Record<string, number | undefined>> = {
  DW_VALIDATION: 400,
  DW_FAULT_INJECTION_DISABLED: 403,
  DW_NOT_FOUND: 404,
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
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return validationError(err.message, err.statusCode === 413 ? 'Send a smaller body (at most 64 KiB).' : 'Send JSON with Content-Type: application/json.');
  }
  return undefined;
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const fastifyErr = fromFastifyError(err);
    const dw = fastifyErr ?? toDwError(err);
    const status = fastifyErr && err.statusCode ? err.statusCode : (STATUS_BY_CODE[dw.code] ?? 500);
    if (status >= 500) request.log.warn({ err, code: dw.code }, dw.message);
    void reply.code(status).send(dw.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(new DwError('DW_NOT_FOUND', `No route ${request.method} ${request.url}.`, 'GET /openapi.json lists the routes.').toJSON());
  });
}
