/**
 * Offline tracking of a whole detection file (MOTChallenge rows). Because the whole sequence is
 * known, two things a live tracker cannot do are done here:
 *  - a track's boxes from before it was confirmed are kept once it is confirmed (a live tracker
 *    has to wait `minHits` frames before trusting a new object);
 *  - short gaps (missed detections, brief occlusions) are filled by linear interpolation between
 *    the boxes on either side, up to `interpolateSec`.
 */
import { UserError } from '../core/errors.js';
import type { MotRow } from './mot-io.js';
import { ByteTracker, type TrackerConfig, type TrackerDetection } from './tracker.js';

export interface OfflineOptions {
  fps: number;
  tracker?: Partial<TrackerConfig>;
  /** Longest gap filled by interpolation, seconds (default 0.2; 0: none). */
  interpolateSec?: number;
  /** Output the Kalman-filtered box (default) or the matched detection box (false). */
  filteredBoxes?: boolean;
  onFrame?: (done: number, total: number) => void;
}

interface Observation {
  frame: number;
  box: [number, number, number, number];
  score: number;
}

export function trackMotDetections(detRows: MotRow[], opts: OfflineOptions): MotRow[] {
  const tracker = new ByteTracker(opts.tracker);
  const byFrame = new Map<number, TrackerDetection[]>();
  let first = Infinity;
  let last = -Infinity;
  for (const r of detRows) {
    let list = byFrame.get(r.frame);
    if (!list) byFrame.set(r.frame, (list = []));
    list.push({ box: [r.x, r.y, r.x + r.w, r.y + r.h], score: r.score, classId: 0 });
    first = Math.min(first, r.frame);
    last = Math.max(last, r.frame);
  }
  if (last - first > 10_000_000) throw new UserError(`detections span frames ${first}…${last}: too many frames to track`);
  const history = new Map<number, { confirmed: boolean; obs: Observation[] }>();
  const empty: TrackerDetection[] = [];
  const total = Number.isFinite(first) ? last - first + 1 : 0;
  for (let f = first; f <= last; f++) {
    const active = tracker.update(byFrame.get(f) ?? empty, ((f - 1) * 1000) / opts.fps);
    for (const t of active) {
      let h = history.get(t.id);
      if (!h) history.set(t.id, (h = { confirmed: false, obs: [] }));
      h.confirmed ||= t.confirmed;
      const b = opts.filteredBoxes === false ? t.detBox : t.box;
      h.obs.push({ frame: f, box: [b[0], b[1], b[2], b[3]], score: t.score });
    }
    if ((f - first) % 50 === 0) opts.onFrame?.(f - first + 1, total);
  }
  opts.onFrame?.(total, total);

  const maxGapFrames = Math.floor((opts.interpolateSec ?? 0.2) * opts.fps + 1e-9);
  const out: MotRow[] = [];
  const push = (id: number, frame: number, b: number[], score: number) =>
    out.push({ frame, id, x: b[0], y: b[1], w: b[2] - b[0], h: b[3] - b[1], score });
  for (const [id, h] of history) {
    if (!h.confirmed) continue;
    for (let k = 0; k < h.obs.length; k++) {
      const o = h.obs[k];
      push(id, o.frame, o.box, o.score);
      const next = h.obs[k + 1];
      if (!next) continue;
      const gap = next.frame - o.frame - 1;
      if (gap <= 0 || gap > maxGapFrames) continue;
      for (let g = 1; g <= gap; g++) {
        const a = g / (gap + 1);
        const b = o.box.map((v, i) => v + (next.box[i] - v) * a);
        push(id, o.frame + g, b, Math.min(o.score, next.score));
      }
    }
  }
  out.sort((a, b) => a.frame - b.frame || a.id - b.id);
  return out;
}
