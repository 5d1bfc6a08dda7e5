/**
 * Request validation without type coercion for JSON bodies.
 *
 * Fastify validates with one Ajv instance using `coerceTypes: 'array'`, for the body as well: `"qty": "2"` became 2
 * and `"priceCents": null` became 0 — an invalid order was written (Schemathesis' negative_data_rejection found
 * it). Query strings and path parameters are text on the wire, so they keep the coercion (`?latencyMs=5000`
 * is an integer); JSON bodies have real types and get an Ajv instance with `coerceTypes: false`.
 *
 * Both instances come from Fastify's own validator compiler (@fastify/ajv-compiler, the version fastify itself
 * uses): same defaults, formats and `ajv` server options, only coercion differs.
 */
import ajvCompiler from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

type RouteSchemaDef = { schema: unknown; httpPart?: string; method: string; url: string };
type Validate = (def: RouteSchemaDef) => unknown;
type AjvServerOptions = { customOptions?: Record<string, unknown> } & Record<string, unknown>;
type BuildValidator = (externalSchemas: unknown, ajvOptions: AjvServerOptions) => Validate;

const AjvCompiler = ajvCompiler as unknown as () => BuildValidator;

/** The `schemaController` option of Fastify(): bodies validated without coercion, everything else as Fastify does. */
export function bodyWithoutCoercion(): NonNullable<FastifyServerOptions['schemaController']> {
  const fromPool = AjvCompiler();
  const buildValidator: BuildValidator = (externalSchemas, ajvOptions) => {
    const coercing = fromPool(externalSchemas, ajvOptions);
    const strict = fromPool(externalSchemas, { ...ajvOptions, customOptions: { ...ajvOptions?.customOptions, coerceTypes: false } });
    return (def) => (def.httpPart === 'body' ? strict(def) : coercing(def));
  };
  return { compilersFactory: { buildValidator } } as NonNullable<FastifyServerOptions['schemaController']>;
}
