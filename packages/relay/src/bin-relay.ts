#!/usr/bin/env node
/** The `outbox-relay` bin: the relay as a process, configured by the environment (`outbox-relay --help`). */
import { runRelayCli } from './run-relay-cli.ts';

await runRelayCli();
