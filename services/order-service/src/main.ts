/** Starts the order service on PORT (default 3000). SIGINT/SIGTERM close it gracefully. */
import { isDwError, resolveConfig } from '@dual-write/config';
import { buildApp } from './app.ts';

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log('Usage: npm start   (or: pnpm --filter @dual-write/order-service start)\nStarts the order service on HOST:PORT (default 127.0.0.1:3000). Settings: README "Configuration".');
    return;
  }
  const config = resolveConfig();
  const app = await buildApp({ config, logger: true });
  await app.fastify.listen({ host: config.orderService.host, port: config.orderService.port });
  console.log(`order service listening on ${config.orderService.url} — try: curl ${config.orderService.url}/health`);
  const stop = async (signal: string) => {
    console.log(`${signal}: closing…`);
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(isDwError(err) ? err.format() : err);
  process.exit(1);
});
