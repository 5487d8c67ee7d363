/** --start-time: a recording's start on the clock, given or read from its creation_time tag. */
import { describe, expect, it } from 'vitest';
import { parseStartTime, recordingStart } from '../../src/ingest/start-time.js';

describe('--start-time', () => {
  it('takes ISO 8601 with an offset of hours and minutes, hours alone, or Z; refuses one without', () => {
    const utc = Date.parse('2026-11-03T06:00:00Z');
    for (const v of ['2026-11-03T07:00:00+01:00', '2026-11-03T07:00:00+0100', '2026-11-03T07:00:00+01', '2026-11-03T06:00:00Z', '2026-11-03 06:00Z']) expect(parseStartTime(v), v).toBe(utc);
    expect(() => parseStartTime('2026-11-03T07:00:00')).toThrow(/no UTC offset/);
    expect(() => parseStartTime('2026-02-30T07:00:00Z')).toThrow(/no such date/);
    expect(() => parseStartTime('2026-11-03T07:00:00+15')).toThrow(/no such UTC offset/);
  });

  it('reads a creation_time tag as UTC, and refuses the epoch of a recorder whose clock was never set', () => {
    expect(recordingStart('file', 'cam.mp4', '2026-11-03T06:00:00.000000Z')).toBe(Date.parse('2026-11-03T06:00:00Z'));
    expect(recordingStart('file', 'cam.avi', '2026-11-03 06:00:00')).toBe(Date.parse('2026-11-03T06:00:00Z'));
    for (const unset of ['1970-01-01T00:00:00.000000Z', '1904-01-01T00:00:00Z', '2000-01-01T00:00:00Z']) {
      expect(() => recordingStart('file', 'cam.mp4', unset), unset).toThrow(/^cam\.mp4: --start-time file: its creation_time tag '.+' is the default of a recorder whose clock was not set/);
    }
    expect(() => recordingStart('file', 'cam.mp4', undefined)).toThrow(/no creation_time tag/);
  });
});
