import type { Box } from './types.js';

/*
 * Intersection over union of [x1, y1, x2, y2] boxes, the one implementation the tracker and the
 * evaluation (AP, teacher/student agreement) share. Two IoUs stay apart on purpose because they
 * reproduce another program's floating-point steps: darknet's centre-format float32 box_iou for NMS
 * (src/detect/decode.ts) and py-motmetrics' (src/track/mot-metrics.ts).
 */

/** IoU from eight coordinates, so hot loops (the tracker's cost matrix) need no box arrays; 0 when they do not overlap. */
export function iou(ax1: number, ay1: number, ax2: number, ay2: number, bx1: number, by1: number, bx2: number, by2: number): number {
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  if (iw <= 0) return 0;
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (ih <= 0) return 0;
  const inter = iw * ih;
  const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

/** IoU of two boxes; 0 when they do not overlap. */
export function boxIou(a: Box, b: Box): number {
  return iou(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]);
}
