#!/usr/bin/env node
/** The `outbox-dead-letters` bin: list, replay or discard what Kafka refused (`outbox-dead-letters --help`). */
import { runDeadLettersCli } from './run-dead-letters-cli.ts';

await runDeadLettersCli();
