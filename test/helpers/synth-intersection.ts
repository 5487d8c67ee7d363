import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { xnorcam } from './cli.js';

export type Point = [number, number];
export type Segment = [Point, Point];

/**
 * A generated 10 s road (`xnorcam synth video`, seed 3: traffic both ways up the picture) and three lines across
 * it that give known movements: near the camera and far up (the calibration's near and far edges, on the road's
 * edges) and the preset counting line between them.
 */
export function synthRoad(dir: string, size?: string): { video: string; lines: Record<string, Segment>; fps: number } {
  const video = join(dir, 'traffic.mp4');
  const r = xnorcam(['synth', 'video', '--out', video, '--seconds', '10', '--seed', '3', ...(size ? ['--size', size] : [])]);
  expect(r.status, r.stderr).toBe(0);
  const truth = JSON.parse(readFileSync(join(dir, 'traffic.truth.json'), 'utf8')) as { fps: number; line: { points: Segment }; calibration: { image: Point[] } };
  const corners = [...truth.calibration.image].sort((a, b) => b[1] - a[1]);
  return { video, fps: truth.fps, lines: { near: [corners[0], corners[1]], mid: truth.line.points, far: [corners[2], corners[3]] } };
}
