import { UserError } from '../core/errors.js';
import type { TrafficEvent } from '../core/types.js';

/**
 * A recording's first instant (its `ptsMs` 0) on the clock, epoch ms, and the UTC offset it was given in (minutes
 * east of UTC): its tables' times are written in that offset, 07:00+01:00 as the user gave it, not 06:00Z.
 */
export interface ClockStart {
  ms: number;
  offsetMin: number;
}

/** `--start-time`: when a recording started, or 'file': its container's creation_time (UTC). */
export type StartTime = ClockStart | 'file';

const EXAMPLE = '2026-11-03T07:00:00+01:00';
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** `--start-time WHEN`: an ISO 8601 date-time with an offset or Z, or `file`. A bad value is one line naming `label`. */
export function parseStartTime(value: string, label = '--start-time'): StartTime {
  const v = value.trim();
  if (v === 'file') return v;
  const t = dateTime(v);
  if (typeof t !== 'string') return t;
  throw new UserError(`${label} '${value}': ${t}`, 2);
}

/**
 * A recording's start on the clock: `when`, or for 'file' its creation_time tag (as ffmpeg prints the
 * container's metadata: UTC, with or without its Z). Refused in one line naming the input when it has none.
 */
export function recordingStart(when: StartTime, input: string, creationTime: string | undefined): ClockStart {
  if (when !== 'file') return when;
  if (creationTime === undefined) {
    throw new UserError(`${input}: --start-time file: it has no creation_time tag; give the time its recording started instead, e.g. --start-time ${EXAMPLE}`);
  }
  // A tag without an offset is UTC: MP4 and QuickTime store seconds since 1904 UTC, which ffmpeg prints.
  const t = dateTime(/(Z|[+-]\d{2}(?::?\d{2})?)$/i.test(creationTime) ? creationTime : `${creationTime}Z`);
  // A recorder whose clock was never set stamps its epoch (1970, 1904, 2000-01-01): counts dated then are no study's.
  if (typeof t !== 'string' && t.ms < Date.UTC(2000, 0, 2)) {
    throw new UserError(`${input}: --start-time file: its creation_time tag '${creationTime}' is the default of a recorder whose clock was not set; give the time its recording started instead, e.g. --start-time ${EXAMPLE}`);
  }
  if (typeof t !== 'string') return t;
  throw new UserError(`${input}: --start-time file: its creation_time tag '${creationTime}' is not a date-time (${t}); give the time instead, e.g. --start-time ${EXAMPLE}`);
}

/** An ISO 8601 date-time with an offset as an instant and its offset, or why it is not one. */
function dateTime(v: string): ClockStart | string {
  const m = DATE_TIME.exec(v);
  if (!m) return `expected an ISO 8601 date-time with an offset or Z (e.g. ${EXAMPLE}), or file`;
  const [, y, mo, d, h, mi, s = '0', frac = '', zone] = m;
  // Without an offset the instant depends on the machine's time zone: a study's times must not.
  if (!zone) return `no UTC offset: add Z or the offset of the recording's time zone, e.g. ${EXAMPLE}`;
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
  const utc = Date.UTC(...fields);
  const back = new Date(utc);
  const same = [back.getUTCFullYear(), back.getUTCMonth(), back.getUTCDate(), back.getUTCHours(), back.getUTCMinutes(), back.getUTCSeconds()].every((x, i) => x === fields[i]);
  if (!same) return 'no such date or time';
  const offset = /^[+-](\d{2})(?::?(\d{2}))?$/.exec(zone);
  const offsetMin = offset ? (zone[0] === '-' ? -1 : 1) * (Number(offset[1]) * 60 + Number(offset[2] ?? 0)) : 0;
  if (offset && (Number(offset[1]) > 14 || Number(offset[2] ?? 0) > 59)) return `no such UTC offset (${zone})`;
  return { ms: utc + Math.round(Number(`0${frac}`) * 1000) - offsetMin * 60_000, offsetMin };
}

/**
 * The millisecond an event at `ptsMs` is shown at, `originMs` (--start-time, epoch ms, or 0) plus its `ptsMs`
 * rounded to the nearest: the one rule for every output, so an event's `at`, its row in crossings.csv (clock
 * time or seconds) and the interval it is counted in all read the same instant. (`ptsMs` itself keeps its
 * microseconds.) A crossing at 775.601 ms was `at` …05.776 in the events and 07:00:05.775 in crossings.csv
 * (a Date truncates), and one 0.4 ms before an interval's end was counted in it while its `at` read the next.
 */
export function shownMs(ptsMs: number, originMs = 0): number {
  return Math.round(originMs + ptsMs);
}

/** Epoch ms `ms` (to the ms by shownMs) in ISO 8601 at the UTC offset `offsetMin`: `2026-11-03T07:00:00.000+01:00`, or `…06:00:00.000Z` at 0. */
export function clockTime(ms: number, offsetMin = 0): string {
  if (!offsetMin) return new Date(shownMs(ms)).toISOString();
  const local = new Date(shownMs(ms) + offsetMin * 60_000).toISOString().slice(0, -1);
  const abs = Math.abs(offsetMin);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${local}${offsetMin < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}

/** Dates a recording's traffic events on the clock: `at` is the start plus the event's `ptsMs`, epoch ms. */
export function dateEvents(events: readonly TrafficEvent[], startMs: number | undefined): void {
  if (startMs === undefined) return;
  for (const e of events) if ('ptsMs' in e) e.at = shownMs(e.ptsMs, startMs);
}
