import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { showinfoConfig, showinfoFrame, showinfoSeconds } from '../../src/ingest/showinfo.js';

/** showinfo's lines for a generated clip, as real ffmpeg prints them. */
function showinfoLines(filter: string): string[] {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-f', 'lavfi', '-t', '0.2', '-i', 'testsrc2=size=160x120:rate=25', '-vf', `${filter}showinfo`, '-f', 'null', '-'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stderr.split('\n').filter((l) => l.includes('Parsed_showinfo'));
}

describe('showinfo lines', () => {
  it('dates frames three hours in to the microsecond (pts × time base), as pts_time cannot', () => {
    const lines = showinfoLines('setpts=PTS+10800.04/TB,setsar=4/3,');
    const config = lines.map(showinfoConfig).find((c) => c !== undefined);
    expect(config?.timeBase).toEqual([1, 25]);
    expect(config?.frameRate).toEqual([25, 1]);
    const frames = lines.map(showinfoFrame).filter((f) => f !== undefined);
    expect(frames).toHaveLength(5);
    expect(frames.map((f) => showinfoSeconds(f, config!.timeBase))).toEqual([10800.04, 10800.08, 10800.12, 10800.16, 10800.2]);
    // Without the time base, showinfo's own 6-digit seconds: a tenth of a second apart at best.
    expect(new Set(frames.map((f) => showinfoSeconds(f, undefined))).size).toBeLessThan(5);
    expect(frames[0]).toMatchObject({ width: 160, height: 120, sar: '4/3' });
    expect(lines.map(showinfoFrame).filter((f) => f !== undefined && f.sar)).toHaveLength(5);
  });

  it('reads a frame without a timestamp as a frame, with no time', () => {
    const line = '[Parsed_showinfo_0 @ 0x55d0] n:   7 pts:NOPTS pts_time:NOPTS pos:  9164 fmt:yuv420p sar:1/1 s:320x240 i:P iskey:0 type:P';
    const f = showinfoFrame(line);
    expect(f).toMatchObject({ pts: undefined, ptsTime: undefined, width: 320, height: 240 });
    expect(f!.sar).toBeUndefined();
    expect(showinfoSeconds(f!, [1, 25])).toBeUndefined();
    expect(showinfoConfig('[Parsed_showinfo_0 @ 0x55d0] config in time_base: 0/1, frame_rate: 0/1')).toBeUndefined();
  });
});
