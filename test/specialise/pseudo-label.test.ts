import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeYoloDataset, type LabelledFrame } from '../../src/specialise/pseudo-label.js';

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
    const out = join(dir, 'hard');
    writeYoloDataset(out, [frame], classes);
    expect(lines(out)).toEqual(['1 0.200000 0.300000 0.200000 0.400000', '-1 0.950000 0.800000 0.100000 0.400000']);
    expect(readFileSync(join(out, 'classes.txt'), 'utf8')).toBe(classes.join('\n') + '\n');
  });
});
