import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ignoreRegions, writeYoloDataset, type LabelledFrame } from '../../src/specialise/pseudo-label.js';

const dir = mkdtempSync(join(tmpdir(), 'xnorcam-pseudo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const classes = ['car', 'truck', 'bus', 'motorcycle', 'bicycle', 'person'];
const image = join(dir, 'frame-000001.jpg');
writeFileSync(image, 'not decoded by the writer');
const frame: LabelledFrame = {
  file: image,
  timeSec: 0,
  width: 200,
  height: 100,
  labels: [{ className: 'truck', score: 0.875, box: [20, 10, 60, 50] }],
  // an unsure box partly outside the frame: clipped to it
  uncertain: [{ className: 'person', score: 0.15, box: [180, 60, 220, 100] }],
};
const lines = (out: string) => readFileSync(join(out, 'labels', 'frame-000001.txt'), 'utf8').trim().split('\n');

describe('writeYoloDataset', () => {
  it("writes the teacher's confident boxes as objects and its unsure ones as ignore regions (class -1)", () => {
    const out = join(dir, 'ignore');
    writeYoloDataset(out, [frame], classes, 'ignore');
    expect(lines(out)).toEqual(['1 0.200000 0.300000 0.200000 0.400000', '-1 0.950000 0.800000 0.100000 0.400000']);
    expect(readFileSync(join(out, 'classes.txt'), 'utf8')).toBe(classes.join('\n') + '\n');
  });

  it('background: unsure boxes are left out', () => {
    const out = join(dir, 'background');
    writeYoloDataset(out, [frame], classes, 'background');
    expect(lines(out)).toEqual(['1 0.200000 0.300000 0.200000 0.400000']);
  });

  it("soft: unsure boxes are objects of their class with the teacher's score as a sixth column, no ignore regions", () => {
    const out = join(dir, 'soft');
    // a car at 0.2 on the confident truck is the teacher hesitating over its class, not over the object: left out
    const hesitant = { ...frame, uncertain: [...frame.uncertain!, { className: 'car', score: 0.2, box: [22, 12, 60, 50] as [number, number, number, number] }] };
    writeYoloDataset(out, [hesitant], classes, 'soft');
    expect(lines(out)).toEqual(['1 0.200000 0.300000 0.200000 0.400000', '5 0.950000 0.800000 0.100000 0.400000 0.1500']);
    expect(ignoreRegions([frame], 'soft').flat()).toEqual([]);
  });
});

describe('ignoreRegions', () => {
  const at = (timeSec: number, labels: LabelledFrame['labels'], uncertain: LabelledFrame['uncertain']): LabelledFrame => ({ file: `f${timeSec}.jpg`, timeSec, width: 200, height: 100, labels, uncertain });
  const car = (x: number, score: number) => ({ className: 'car', score, box: [x, 10, x + 40, 40] as [number, number, number, number] });
  // Given out of time order, as nothing guarantees the caller sorted them.
  const frames = [
    at(0.1, [car(12, 0.6)], [car(150, 0.2)]),
    at(0.0, [], [car(10, 0.25), car(150, 0.15)]),
    at(0.2, [], [car(14, 0.2)]),
    at(5.0, [], [car(16, 0.2)]),
  ];

  it('neighbours: an unsure box is an ignore region where the previous or next frame has the object confidently, else background', () => {
    const r = ignoreRegions(frames, 'neighbours');
    // frame 0.0: its car at x=10 is confident at 0.1 s (IoU 0.9); the thing at x=150 never is
    expect(r[1]).toEqual([car(10, 0.25)]);
    expect(r[0]).toEqual([]);
    expect(r[2]).toEqual([car(14, 0.2)]);
    // 5 s later the neighbour (0.2 s) has no confident box there
    expect(r[3]).toEqual([]);
  });

  it('ignore keeps every unsure box, background none', () => {
    expect(ignoreRegions(frames, 'ignore').map((u) => u.length)).toEqual([1, 2, 1, 1]);
    expect(ignoreRegions(frames, 'background').flat()).toEqual([]);
  });
});
