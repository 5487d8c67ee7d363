import { describe, expect, it } from 'vitest';
import { boxIou, iou } from '../../src/core/box-geometry.js';
import type { Box } from '../../src/core/types.js';

describe('box IoU (shared by the tracker and the evaluation)', () => {
  it('computes IoU of [x1, y1, x2, y2] boxes', () => {
    expect(boxIou([0, 0, 10, 10], [0, 0, 10, 6])).toBeCloseTo(0.6, 12);
    expect(boxIou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(50 / 150, 12);
    expect(boxIou([0, 0, 10, 10], [2, 2, 4, 4])).toBeCloseTo(4 / 100, 12);
  });

  it('is 0 for boxes that touch or overlap on one axis only, and for empty boxes', () => {
    expect(boxIou([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0);
    expect(boxIou([0, 0, 10, 10], [0, 12, 10, 20])).toBe(0);
    expect(boxIou([0, 0, 10, 10], [20, 0, 30, 10])).toBe(0);
    expect(boxIou([5, 5, 5, 5], [5, 5, 5, 5])).toBe(0);
  });

  it('gives the same number from eight coordinates as from two boxes, either way round', () => {
    const boxes: Box[] = [[0, 0, 10, 10], [3.5, -2, 12.25, 7], [9.999, 9.999, 20, 20], [1, 1, 2, 2], [-5, -5, 50, 50]];
    for (const a of boxes) {
      for (const b of boxes) {
        const v = boxIou(a, b);
        expect(iou(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3])).toBe(v);
        expect(boxIou(b, a)).toBe(v);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
    expect(boxIou([1, 2, 3, 4], [1, 2, 3, 4])).toBe(1);
  });
});
