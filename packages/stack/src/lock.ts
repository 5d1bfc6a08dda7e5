/** A lock file so two `stack up` (e.g. test runs of several packages at once) never start the same service twice. */
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from './process.ts';
import { sleep } from './wait.ts';

export async function withFileLock<T>(file: string, fn: () => Promise<T>, onWait?: (holder: number) => void): Promise<T> {
  mkdirSync(path.dirname(file), { recursive: true });
  let told = false;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = NaN;
      try {
        holder = Number(readFileSync(file, 'utf8'));
      } catch {
        /* released meanwhile */
      }
      if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
        rmSync(file, { force: true });
        continue;
      }
      if (!told && onWait && Number.isInteger(holder)) {
        onWait(holder);
        told = true;
      }
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
