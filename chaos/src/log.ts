/** Every line a chaos script prints starts with the time, so a run can be lined up with the service's logs. */
export type Say = (line: string) => void;

export function timestamped(write: (text: string) => void, now: () => Date = () => new Date()): Say {
  return (line) => write(`${now().toISOString()} [chaos] ${line}\n`);
}

export const sayToStdout: Say = timestamped((t) => process.stdout.write(t));
export const sayToStderr: Say = timestamped((t) => process.stderr.write(t));
