/** --start-time: a recording's start on the clock, given or read from its creation_time tag. */
import { describe, expect, it } from 'vitest';
import { clockTime, parseStartTime, recordingStart } from '../../src/ingest/start-time.js';

describe('--start-time', () => {
  it('takes ISO 8601 with an offset of hours and minutes, hours alone, or Z; refuses one without', () => {
    const utc = Date.parse('2026-11-03T06:00:00Z');
    for (const v of ['2026-11-03T07:00:00+01:00', '2026-11-03T07:00:00+0100', '2026-11-03T07:00:00+01']) expect(parseStartTime(v), v).toEqual({ ms: utc, offsetMin: 60 });
    for (const v of ['2026-11-03T06:00:00Z', '2026-11-03 06:00Z']) expect(parseStartTime(v), v).toEqual({ ms: utc, offsetMin: 0 });
    expect(parseStartTime('2026-11-03T01:00:00-05:00')).toEqual({ ms: utc, offsetMin: -300 });
    expect(() => parseStartTime('2026-11-03T07:00:00')).toThrow(/no UTC offset/);
    expect(() => parseStartTime('2026-02-30T07:00:00Z')).toThrow(/no such date/);
    expect(() => parseStartTime('2026-11-03T07:00:00+15')).toThrow(/no such UTC offset/);
  });

  it('reads a creation_time tag as UTC, and refuses the epoch of a recorder whose clock was never set', () => {
    expect(recordingStart('file', 'cam.mp4', '2026-11-03T06:00:00.000000Z')).toEqual({ ms: Date.parse('2026-11-03T06:00:00Z'), offsetMin: 0 });
    expect(recordingStart('file', 'cam.avi', '2026-11-03 06:00:00')).toEqual({ ms: Date.parse('2026-11-03T06:00:00Z'), offsetMin: 0 });
    for (const unset of ['1970-01-01T00:00:00.000000Z', '1904-01-01T00:00:00Z', '2000-01-01T00:00:00Z']) {
      expect(() => recordingStart('file', 'cam.mp4', unset), unset).toThrow(/^cam\.mp4: --start-time file: its creation_time tag '.+' is the default of a recorder whose clock was not set/);
    }
    expect(() => recordingStart('file', 'cam.mp4', undefined)).toThrow(/no creation_time tag/);
  });

  it('writes a time at the offset it was given in, the date too, Z at 0', () => {
    const ms = Date.parse('2026-11-03T06:00:00.250Z');
    expect(clockTime(ms, 60)).toBe('2026-11-03T07:00:00.250+01:00');
    expect(clockTime(ms, -420)).toBe('2026-11-02T23:00:00.250-07:00');
    expect(clockTime(ms, 345)).toBe('2026-11-03T11:45:00.250+05:45');
    expect(clockTime(ms, 0)).toBe('2026-11-03T06:00:00.250Z');
    for (const offsetMin of [60, -420, 345]) expect(Date.parse(clockTime(ms, offsetMin))).toBe(ms);
    // A crossing's time has microseconds: rounded to the ms, as its event's `at` (a Date truncated it, a ms early).
    expect(clockTime(ms + 0.601, 60)).toBe('2026-11-03T07:00:00.251+01:00');
    expect(clockTime(ms + 0.499, 0)).toBe('2026-11-03T06:00:00.250Z');
  });
});
