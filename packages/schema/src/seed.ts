/** Demo data the unrelated endpoints (login, product search) read. Idempotent. */
import { scryptSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from './migrate.ts';

export const DEMO_USER = { email: 'demo@example.com', password: 'demo-password' };

export const DEMO_PRODUCTS = [
  { sku: 'BOOK-001', name: 'Designing Data-Intensive Applications', priceCents: 4599 },
  { sku: 'BOOK-002', name: 'Database Internals', priceCents: 5299 },
  { sku: 'MUG-001', name: 'Exactly-Once Coffee Mug', priceCents: 1299 },
  { sku: 'TEE-001', name: 'At-Least-Once T-Shirt', priceCents: 2199 },
  { sku: 'CABLE-001', name: 'Network Partition Cable (2 m)', priceCents: 999 },
];

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('hex')}$${scryptSync(password, salt, 32).toString('hex')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [scheme, saltHex, hashHex] = stored.split('$');
  if (scheme !== 'scrypt' || !saltHex || !hashHex) return false;
  const expected = Buffer.from(hashHex, 'hex');
  const actual = scryptSync(password, Buffer.from(saltHex, 'hex'), expected.length);
  return timingSafeEqual(actual, expected);
}

export async function seedDemoData(client: Queryable): Promise<void> {
  for (const p of DEMO_PRODUCTS) {
    await client.query('insert into products (sku, name, price_cents) values ($1, $2, $3) on conflict (sku) do nothing', [p.sku, p.name, p.priceCents]);
  }
  await client.query('insert into users (email, password_hash) values ($1, $2) on conflict (email) do nothing', [DEMO_USER.email, hashPassword(DEMO_USER.password)]);
}
