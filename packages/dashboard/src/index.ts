/**
 * @dual-write/dashboard — an embeddable dashboard for the transactional outbox (@dual-write/outbox) and its relay
 * (@dual-write/relay): backlog and its trend, publish rate, relay instances and their slots, parked keys and the
 * dead letter that blocks each, dead letters (search, inspect, replay, discard — recorded with who did it), and
 * the DB ↔ Kafka auditor. A Node `(req, res, next?)` handler: node:http, Express, or Fastify (fastifyDashboard).
 */
export { createDashboard, type CreateDashboardOptions, type Dashboard, type Summary, type TrendPoint } from './dashboard.ts';
export { fastifyDashboard, type FastifyDashboardOptions } from './fastify.ts';
export { resolveDashboardOptions, type DashboardOptions, type DashboardPanel, type PanelAction } from './options.ts';
export { migrateDashboard, dashboardTables, DASHBOARD_MIGRATIONS_DIR } from './migrate.ts';
export { countRows, plannerEstimate, type RowCount } from './queries.ts';
export { DashboardError, DASHBOARD_ERROR_CODES, type DashboardErrorCode } from './errors.ts';
