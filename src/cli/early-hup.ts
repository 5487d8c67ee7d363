/**
 * `run` reloads its pipeline file on SIGHUP, but its handlers are installed only once its modules have
 * loaded (a second or more): a SIGHUP before that (a deploy script's reload, a service manager's
 * ExecReload) killed the process with nothing logged. main.ts holds such a signal from the moment the
 * command is known, and `run` takes it over when it listens. One before main.ts runs (while Node itself
 * starts) still ends it: Node resets signal dispositions as it starts, an ignored SIGHUP inherited
 * included, and holding it from bin/xnorcam.js's first line came no sooner (docs/pipeline.md says so).
 */
let held = false;
let holder: (() => void) | undefined;

export function holdEarlyHup(): void {
  holder = () => (held = true);
  process.on('SIGHUP', holder);
}

/** Stops holding (the command's own handler is installed by now); whether a SIGHUP came meanwhile. */
export function takeHeldHup(): boolean {
  if (holder) process.off('SIGHUP', holder);
  holder = undefined;
  const came = held;
  held = false;
  return came;
}
