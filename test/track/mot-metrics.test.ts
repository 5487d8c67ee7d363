import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMot, readMotFile, type MotRow } from '../../src/track/mot-io.js';
import { evaluateMot } from '../../src/track/mot-metrics.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const motDir = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'mot');
const row = (frame: number, id: number, x: number, y = 0, w = 10, h = 10, score = 1): MotRow => ({ frame, id, x, y, w, h, score });

describe('CLEAR-MOT and IDF1 on hand-computed cases', () => {
  it('counts an identity swap as two switches and scores IDF1 on the best global id pairing', () => {
    const gt = [1, 2, 3].flatMap((f) => [row(f, 1, 0), row(f, 2, 100)]);
    const hyp = [row(1, 1, 0), row(1, 2, 100), row(2, 1, 0), row(2, 2, 100), row(3, 1, 100), row(3, 2, 0)];
    const m = evaluateMot(gt, hyp);
    expect(m.num_switches).toBe(2);
    expect(m.num_misses).toBe(0);
    expect(m.num_false_positives).toBe(0);
    expect(m.mota).toBeCloseTo(1 - 2 / 6, 12);
    expect(m.idtp).toBe(4);
    expect(m.idf1).toBeCloseTo(8 / 12, 12);
    expect(m.motp).toBe(0);
    expect(m.mostly_tracked).toBe(2);
  });

  it('counts a gap as a miss and a fragmentation, a stray box as a false positive, and keeps the id across the gap', () => {
    const gt = [1, 2, 3, 4, 5].map((f) => row(f, 1, 0));
    const hyp = [row(1, 7, 0), row(2, 7, 0), row(3, 9, 500), row(4, 7, 0), row(5, 7, 0)];
    const m = evaluateMot(gt, hyp);
    expect([m.num_misses, m.num_false_positives, m.num_switches, m.num_fragmentations]).toEqual([1, 1, 0, 1]);
    expect(m.mota).toBeCloseTo(0.6, 12);
    expect(m.idf1).toBeCloseTo((2 * 4) / 10, 12);
    expect([m.mostly_tracked, m.partially_tracked, m.mostly_lost]).toEqual([1, 0, 0]);
    expect(m.precision).toBeCloseTo(0.8, 12);
    expect(m.recall).toBeCloseTo(0.8, 12);
  });

  it('needs IoU ≥ 0.5 for a match and reports MOTP as mean 1 − IoU', () => {
    // shift 4.3: IoU = 57/143 ≈ 0.399 → miss + FP; shift 3: IoU = 70/130 → match.
    const far = evaluateMot([row(1, 1, 0)], [row(1, 1, 4.3)]);
    expect([far.num_misses, far.num_false_positives]).toEqual([1, 1]);
    const near = evaluateMot([row(1, 1, 0)], [row(1, 1, 3)]);
    expect(near.num_detections).toBe(1);
    expect(near.motp).toBeCloseTo(1 - 70 / 130, 12);
  });

  it('keeps an established pairing after a gap even when another hypothesis fits better', () => {
    const gt = [row(1, 1, 0), row(2, 1, 0), row(3, 1, 0)];
    const hyp = [row(1, 5, 0), row(3, 5, 2), row(3, 6, 0)];
    const m = evaluateMot(gt, hyp);
    expect(m.num_switches).toBe(0);
    expect(m.num_false_positives).toBe(1);
    expect(m.num_misses).toBe(1);
  });

  it('ignores ground-truth rows with confidence 0', () => {
    const gt = [row(1, 1, 0), row(1, 2, 300, 0, 10, 10, 0)];
    const m = evaluateMot(gt, [row(1, 1, 0)]);
    expect(m.num_objects).toBe(1);
    expect(m.num_misses).toBe(0);
    expect(m.mota).toBe(1);
  });

  it('parses whitespace or commas and names the line of a bad row', () => {
    expect(parseMot('1 2 3 4 5 6 0.5\n', 'a.txt')[0]).toMatchObject({ frame: 1, id: 2, w: 5, score: 0.5 });
    expect(() => parseMot('1,2,3,4,5,6\n1,2,x,4,5,6\n', 'b.txt')).toThrow(/^b\.txt:2: field 3 \('x'\) is not a number$/);
  });
});

describe.skipIf(!existsSync(motDir))('reproduces py-motmetrics on the MOT15 fixtures', () => {
  const expected = JSON.parse(readFileSync(path.join(motDir, 'expected_metrics.json'), 'utf8')) as Record<string, Record<string, Record<string, number>>>;
  for (const [seq, files] of Object.entries(expected)) {
    for (const [file, want] of Object.entries(files)) {
      it(`${seq} ${file}`, () => {
        const m = evaluateMot(readMotFile(path.join(motDir, seq, 'gt.txt')), readMotFile(path.join(motDir, seq, file))) as unknown as Record<string, number>;
        for (const [k, v] of Object.entries(want)) expect(Math.abs(m[k] - v), `${k}: ${m[k]} vs ${v}`).toBeLessThan(1e-9);
      });
    }
  }
});
