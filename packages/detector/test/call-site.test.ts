/** The call site a report names: the call and its caller, skipping this package, node_modules and node's internals. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { callSite } from '../src/call-site.ts';

const own = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/detector.ts');

describe('callSite()', () => {
  it('names the first three application frames, async ones included', () => {
    const stack = [
      'Error',
      `    at Object.send (${own}:10:5)`,
      '    at Producer.send (/app/node_modules/kafkajs/src/producer/index.js:120:9)',
      '    at Object.publish (/app/src/kafka/publisher.ts:38:40)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      '    at async writeOrder (/app/src/orders/write-order.ts:87:29)',
      '    at file:///app/src/main.ts:3:4',
    ].join('\n');
    expect(callSite(stack, '/app')).toBe('src/kafka/publisher.ts:38 (Object.publish) ← src/orders/write-order.ts:87 (writeOrder) ← src/main.ts:3');
  });

  it('reads file:// URLs and unnamed frames; nothing of the application → undefined', () => {
    expect(callSite('Error\n    at file:///app/src/main.ts:3:4', '/app')).toBe('src/main.ts:3');
    expect(callSite('Error\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)', '/app')).toBeUndefined();
    expect(callSite(undefined)).toBeUndefined();
  });
});
