import { UserError } from './errors.js';

/** `text` as one of `choices` (case-insensitive), or a one-line error naming `flag` and the choices. */
export function parseChoice<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  const c = choices.find((x) => x === text.trim().toLowerCase());
  if (!c) throw new UserError(`${flag} ${text}: expected one of ${choices.join(', ')}`, 2);
  return c;
}
