export { migrate, migrateLab, loadMigrations, MIGRATIONS_DIR, type Migration, type MigrateResult, type Queryable } from './migrate.ts';
export * from './events.ts';
export { seedDemoData, DEMO_USER, DEMO_PRODUCTS, hashPassword, verifyPassword } from './seed.ts';
