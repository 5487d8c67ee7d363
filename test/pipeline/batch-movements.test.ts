/** `xnorcam batch --movements`: turning movements from a recording, against a generated video's ground-truth tracks. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/videos.js';
import { xnorcam } from '../helpers/cli.js';
import { synthRoad, type Point, type Segment } from '../helpers/synth-intersection.js';
interface Movement {
  type: string;
  from: string;
  to: string;
  className: string;
  ptsMs: number;
}

const side = (p: Point, [a, b]: Segment) => Math.sign((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]));
const meets = (p: Point, q: Point, s: Segment) => side(p, s) !== side(q, s) && side(s[0], [p, q]) !== side(s[1], [p, q]);

/** Each ground-truth track's own movement: the first and last of the lines its boxes' bottom centres went over. */
function trueMovements(gtFile: string, lines: Record<string, Segment>, fps: number): { from: string; to: string; ptsMs: number }[] {
  const paths = new Map<number, [x: number, y: number, frame: number][]>();
  for (const row of readFileSync(gtFile, 'utf8').trim().split('\n')) {
    const [frame, id, x, y, w, h] = row.split(',').map(Number);
    if (!paths.has(id)) paths.set(id, []);
    paths.get(id)!.push([x + w / 2, y + h, frame]);
  }
  const out: { from: string; to: string; ptsMs: number }[] = [];
  for (const path of paths.values()) {
    const crossed: { line: string; frame: number }[] = [];
    for (let i = 1; i < path.length; i++) {
      for (const [name, s] of Object.entries(lines)) if (meets([path[i - 1][0], path[i - 1][1]], [path[i][0], path[i][1]], s)) crossed.push({ line: name, frame: path[i][2] });
    }
    const [first, last] = [crossed[0], crossed.at(-1)];
    if (first && last && first.line !== last.line) out.push({ from: first.line, to: last.line, ptsMs: ((last.frame - 1) * 1000) / fps });
  }
  return out;
}

describe('xnorcam batch --movements', () => {
  let tmp: ReturnType<typeof tempDir>;
  let video: string;
  let road: ReturnType<typeof synthRoad>;
  beforeAll(() => {
    tmp = tempDir();
    // 640x360: a quarter of the default's pixels to render and decode, the model's input as detailed (320 wide).
    road = synthRoad(tmp.dir, '640x360');
    video = road.video;
  }, 300_000);
  afterAll(() => tmp.cleanup());

  it('finds the movements of the ground truth between three lines across the road, in the events and the movements CSV', () => {
    const lines = road.lines;
    const out = join(tmp.dir, 'out');
    const lineArgs = Object.entries(lines).flatMap(([name, s]) => ['--line', `${name}:${s.flat().join(',')}`]);
    const r = xnorcam(['batch', video, ...lineArgs, '--movements', '--count-interval', '5', '-o', out]);
    expect(r.status, r.stderr).toBe(0);

    const want = trueMovements(join(tmp.dir, 'traffic.gt.txt'), lines, road.fps);
    const found = (readFileSync(join(out, 'traffic.events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) as Movement[]).filter((e) => e.type === 'movement');
    expect(want.length).toBeGreaterThan(5);
    // Each true movement found, same lines, dated at the same last crossing (interpolated; within a quarter second).
    const left = [...found];
    const missed = want.filter((m) => {
      const i = left.findIndex((f) => f.from === m.from && f.to === m.to && Math.abs(f.ptsMs - m.ptsMs) <= 250);
      if (i >= 0) left.splice(i, 1);
      return i < 0;
    });
    // A detector, not the truth: one vehicle in ten may be missed (a track that broke) or told apart from its truth.
    // (Here the truth's far→mid car leaving by the picture's bottom-left corner passes a few pixels beyond the end of
    // the near line; its detected box, a little to the right, goes over the line's end: far→near.)
    expect(missed.length, `missed ${JSON.stringify(missed)}`).toBeLessThanOrEqual(Math.ceil(want.length / 10));
    expect(left.length, `movements the truth has not: ${JSON.stringify(left)}`).toBeLessThanOrEqual(Math.ceil(want.length / 10));

    // The CSV counts the same movements, each in the interval of its last crossing, then the totals.
    const rows = readFileSync(join(out, 'traffic.movements.csv'), 'utf8').trim().split('\n');
    expect(rows[0]).toBe('interval_start_s,interval_end_s,from,to,class,count,covered_s');
    const tally = (list: string[]) => list.sort().join('\n');
    const perInterval = rows.slice(1).filter((l) => !l.startsWith('total,'));
    expect(tally(perInterval.flatMap((l) => Array<string>(Number(l.split(',')[5])).fill(l.split(',').slice(0, 5).join(','))))).toBe(
      tally(found.map((f) => { const k = Math.floor(f.ptsMs / 5000); return [k * 5, Math.min((k + 1) * 5, 10), f.from, f.to, f.className].join(','); })),
    );
    const totals = rows.filter((l) => l.startsWith('total,'));
    expect(totals.reduce((a, l) => a + Number(l.split(',')[5]), 0)).toBe(found.length);
  }, 300_000);

  it('refuses --movements without two lines, in one line, before any work', () => {
    const r = xnorcam(['batch', video, '--movements', '--line', 'a:0,0,10,10', '-o', join(tmp.dir, 'never')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('error: xnorcam batch: --movements: needs at least two --line (one across each approach), got 1 (see xnorcam batch --help)');
  });

  it('refuses a line or zone name given twice as the flags\' mistake, exit 2, before any input starts (counts are keyed by name)', () => {
    for (const [args, flag] of [[['--line', 'a:0,0,10,10', '--line', 'a:5,5,20,20'], '--line'], [['--line', 'a:0,0,10,10', '--zone', 'a:0,0,5,0,5,5'], '--zone']] as const) {
      const out = join(tmp.dir, 'twice');
      const r = xnorcam(['batch', video, video, ...args, '-o', out]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe(`error: xnorcam batch: ${flag}: the name 'a' is given twice (each line and zone needs its own name) (see xnorcam batch --help)`);
      expect(existsSync(out)).toBe(false);
    }
  });
});
