/**
 * The error body every route answers with (DwError.toJSON(): `{ code, message, hint }`, plus `details` when the error
 * has them), and the OpenAPI response entries built from it — one module, so each route documents each status it can
 * really return the same way. Schemathesis checks the document against the running service
 * (test/contract.test.ts).
 */

/** The JSON body of every error response. */
export const errorBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['code', 'message', 'hint'],
  properties: {
    code: { type: 'string', pattern: '^DW_[A-Z0-9_]+$', description: 'Stable error code (docs/errors.md).' },
    message: { type: 'string', description: 'What happened.' },
    hint: { type: 'string', description: 'What to do about it.' },
    details: { type: 'object', additionalProperties: true, description: 'Structured context, when the error has some.' },
  },
} as const;

/** What each error status means here: the response's description in /openapi.json (and the codes it carries). */
const ERROR_DESCRIPTIONS = {
  400: 'DW_VALIDATION: a body, query or path parameter is invalid, or the JSON is malformed; the message names the field.',
  401: 'DW_UNAUTHORIZED: wrong email or password.',
  403: 'DW_FAULT_INJECTION_DISABLED: fault injection is off (FAULT_INJECTION=true turns it on).',
  404: 'DW_NOT_FOUND: the entity does not exist.',
  409: 'DW_ORDER_STATE_CONFLICT: the order is not in the state this step needs (created → paid → shipped); `details` gives its status.',
  413: 'DW_BODY_TOO_LARGE: the body is larger than 64 KiB.',
  415: 'DW_UNSUPPORTED_MEDIA_TYPE: the body is not sent as application/json.',
  503: 'DW_DB_UNAVAILABLE or DW_DB_POOL_EXHAUSTED (and, where the route publishes to Kafka, DW_PUBLISH_FAILED): a dependency failed; retry later.',
} as const;

export type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** `{ <status>: error body schema with its description }` for each status given, for a route's `response` schema. */
export function errorResponses<const S extends ErrorStatus>(...statuses: S[]): { [K in S]: ErrorResponse } {
  const entries = statuses.map((s): [S, ErrorResponse] => [s, { ...errorBodySchema, description: ERROR_DESCRIPTIONS[s] }]);
  return Object.fromEntries(entries) as Record<S, ErrorResponse>;
}

type ErrorResponse = typeof errorBodySchema & { description: string };

/** The statuses any route with a JSON body can answer before its handler runs (Fastify's body parsing and validation). */
export const BODY_ERRORS = [400, 413, 415] as const satisfies readonly ErrorStatus[];
