/**
 * Names the request's SERVER span (made by @opentelemetry/instrumentation-http, which sees only the URL) after the
 * Fastify route: `GET /api/v1/orders/:id` with `http.route`, as the HTTP semantic conventions ask. API only: a
 * no-op without a tracer provider. (@fastify/otel would do the same plus a span per hook; one span per request
 * is enough here.)
 */
import { trace } from '@opentelemetry/api';
import { ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import type { FastifyInstance } from 'fastify';

export function nameServerSpansAfterRoutes(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    const span = trace.getActiveSpan();
    if (span && route) {
      span.setAttribute(ATTR_HTTP_ROUTE, route);
      span.updateName(`${request.method} ${route}`);
    }
    done();
  });
}
