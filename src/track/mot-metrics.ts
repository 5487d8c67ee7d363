/**
 * CLEAR-MOT and identity (IDF1) metrics, computed the way py-motmetrics does for MOTChallenge
 * files, so numbers are comparable with published ones:
 *  - distance = 1 − IoU of (x, y, w, h) boxes; a pair can match only when IoU ≥ 0.5;
 *  - per frame: objects matched to the same hypothesis in the previous frame keep it when they
 *    still overlap (carry-over), the rest are matched by an optimal assignment that maximises the
 *    number of pairs then minimises total distance; a match whose object had a different
 *    hypothesis before is an ID switch;
 *  - IDF1 from a global one-to-one assignment of object ids to hypothesis ids maximising the number
 *    of frames in which the pair overlaps (IDTP).
 * Ground-truth rows with confidence 0 ("not considered") are dropped before matching, like
 * py-motmetrics' MOTChallenge evaluation (`min_confidence=1`).
 */
import { AssignmentSolver } from './assignment.js';
import type { MotRow } from './mot-io.js';

export interface MotCounts {
  num_frames: number;
  num_objects: number;
  num_predictions: number;
  num_unique_objects: number;
  num_matches: number;
  num_switches: number;
  num_transfer: number;
  num_false_positives: number;
  num_misses: number;
  num_detections: number;
  num_fragmentations: number;
  mostly_tracked: number;
  partially_tracked: number;
  mostly_lost: number;
  idtp: number;
  idfp: number;
  idfn: number;
  /** Sum of (1 − IoU) over matches; MOTP's numerator, kept so sequences can be pooled. */
  sum_distance: number;
}

export interface MotMetrics extends MotCounts {
  mota: number;
  motp: number;
  idf1: number;
  idp: number;
  idr: number;
  precision: number;
  recall: number;
}

export interface MotEvalOptions {
  /** Minimum IoU for a match (default 0.5). */
  iouThreshold?: number;
  /** Ground-truth rows with a confidence below this are ignored (default 1: drops conf=0 rows). */
  minGtConfidence?: number;
  /**
   * Which earlier matches are carried over: 'ever' (default: the object's last hypothesis, however
   * old — the py-motmetrics release that produced the published MOT15 numbers) or 'previous-frame'
   * (newer py-motmetrics: only pairs matched in the previous frame).
   */
  carryOver?: 'previous-frame' | 'ever';
}

/** py-motmetrics' IoU on (x, y, w, h), reproducing its floating-point steps. */
function motIou(a: MotRow, b: MotRow): number {
  const ax0 = a.x, ay0 = a.y, ax1 = a.x + a.w, ay1 = a.y + a.h;
  const bx0 = b.x, by0 = b.y, bx1 = b.x + b.w, by1 = b.y + b.h;
  const iw = Math.max(Math.min(ax1, bx1) - Math.max(ax0, bx0), 0);
  const ih = Math.max(Math.min(ay1, by1) - Math.max(ay0, by0), 0);
  const inter = iw * ih;
  if (inter === 0) return 0;
  const av = Math.max(ax1 - ax0, 0) * Math.max(ay1 - ay0, 0);
  const bv = Math.max(bx1 - bx0, 0) * Math.max(by1 - by0, 0);
  return inter / (av + bv - inter);
}

function groupByFrame(rows: MotRow[]): Map<number, MotRow[]> {
  const m = new Map<number, MotRow[]>();
  for (const r of rows) {
    let list = m.get(r.frame);
    if (!list) m.set(r.frame, (list = []));
    list.push(r);
  }
  return m;
}

/** The py-motmetrics loader shifts boxes by (−1, −1); doing the same keeps the float rounding identical. */
function shifted(r: MotRow): MotRow {
  return { ...r, x: r.x - 1, y: r.y - 1 };
}

export function evaluateMot(gtRows: MotRow[], hypRows: MotRow[], opts: MotEvalOptions = {}): MotMetrics {
  const maxDist = 1 - (opts.iouThreshold ?? 0.5);
  const minConf = opts.minGtConfidence ?? 1;
  const carryEver = (opts.carryOver ?? 'ever') === 'ever';
  const gt = groupByFrame(gtRows.filter((r) => r.score >= minConf).map(shifted));
  const hyp = groupByFrame(hypRows.map(shifted));
  const frames = [...new Set([...gt.keys(), ...hyp.keys()])].sort((a, b) => a - b);

  const solver = new AssignmentSolver();
  const objHyp = new Map<number, number>(); // object → its current hypothesis
  const hypObj = new Map<number, number>(); // hypothesis → its current object
  let matchedPrev = new Set<number>();
  const objFrames = new Map<number, number>();
  const objTracked = new Map<number, number>();
  /** Per object, per frame it appears in: 1 if matched, 0 if missed (for fragmentations). */
  const objHistory = new Map<number, number[]>();
  const hypFrames = new Map<number, number>();
  const pairFrames = new Map<number, Map<number, number>>();
  const c: MotCounts = {
    num_frames: frames.length, num_objects: 0, num_predictions: 0, num_unique_objects: 0, num_matches: 0, num_switches: 0, num_transfer: 0,
    num_false_positives: 0, num_misses: 0, num_detections: 0, num_fragmentations: 0, mostly_tracked: 0, partially_tracked: 0,
    mostly_lost: 0, idtp: 0, idfp: 0, idfn: 0, sum_distance: 0,
  };

  for (const f of frames) {
    const objs = gt.get(f) ?? [];
    const hyps = hyp.get(f) ?? [];
    const no = objs.length;
    const nh = hyps.length;
    const dist = new Float64Array(no * nh);
    for (let i = 0; i < no; i++) {
      for (let j = 0; j < nh; j++) {
        const d = 1 - motIou(objs[i], hyps[j]);
        dist[i * nh + j] = d > maxDist ? NaN : d;
        if (!Number.isNaN(dist[i * nh + j])) {
          let row = pairFrames.get(objs[i].id);
          if (!row) pairFrames.set(objs[i].id, (row = new Map()));
          row.set(hyps[j].id, (row.get(hyps[j].id) ?? 0) + 1);
        }
      }
    }
    for (const o of objs) objFrames.set(o.id, (objFrames.get(o.id) ?? 0) + 1);
    for (const h of hyps) hypFrames.set(h.id, (hypFrames.get(h.id) ?? 0) + 1);
    c.num_objects += no;
    c.num_predictions += nh;

    const objDone = new Uint8Array(no);
    const hypDone = new Uint8Array(nh);
    const matchedNow = new Set<number>();
    const match = (i: number, j: number, isSwitch: boolean) => {
      objDone[i] = 1;
      hypDone[j] = 1;
      const o = objs[i].id;
      const h = hyps[j].id;
      c.sum_distance += dist[i * nh + j];
      c.num_detections++;
      if (isSwitch) c.num_switches++;
      else c.num_matches++;
      objHyp.set(o, h);
      hypObj.set(h, o);
      matchedNow.add(o);
      objTracked.set(o, (objTracked.get(o) ?? 0) + 1);
    };
    if (no > 0 && nh > 0) {
      // 1. Carry over established pairs that still overlap.
      for (let i = 0; i < no; i++) {
        const o = objs[i].id;
        if (!objHyp.has(o) || (!carryEver && !matchedPrev.has(o))) continue;
        const hPrev = objHyp.get(o);
        let j = -1;
        for (let k = 0; k < nh; k++) if (!hypDone[k] && hyps[k].id === hPrev) { j = k; break; }
        if (j < 0 || Number.isNaN(dist[i * nh + j])) continue;
        match(i, j, false);
      }
      // 2. Optimal assignment of the rest.
      const rowToCol = new Int32Array(no);
      solver.solve(dist, no, nh, rowToCol, (i, j) => !objDone[i] && !hypDone[j]);
      for (let i = 0; i < no; i++) {
        const j = rowToCol[i];
        if (j < 0) continue;
        const o = objs[i].id;
        const h = hyps[j].id;
        const prev = objHyp.get(o);
        const prevObj = hypObj.get(h);
        if (prevObj !== undefined && prevObj !== o) c.num_transfer++;
        match(i, j, prev !== undefined && prev !== h);
      }
    }
    for (let i = 0; i < no; i++) {
      let hist = objHistory.get(objs[i].id);
      if (!hist) objHistory.set(objs[i].id, (hist = []));
      hist.push(objDone[i]);
      if (!objDone[i]) c.num_misses++;
    }
    for (let j = 0; j < nh; j++) if (!hypDone[j]) c.num_false_positives++;
    matchedPrev = matchedNow;
  }

  c.num_unique_objects = objFrames.size;
  for (const [o, n] of objFrames) {
    const ratio = (objTracked.get(o) ?? 0) / n;
    if (ratio >= 0.8) c.mostly_tracked++;
    else if (ratio < 0.2) c.mostly_lost++;
    else c.partially_tracked++;
    const hist = objHistory.get(o) ?? [];
    const first = hist.indexOf(1);
    const last = hist.lastIndexOf(1);
    for (let k = first + 1; first >= 0 && k <= last; k++) if (hist[k - 1] === 1 && hist[k] === 0) c.num_fragmentations++;
  }

  // IDF1: one-to-one object↔hypothesis assignment maximising co-occurring overlapping frames.
  const oids = [...objFrames.keys()];
  const hids = [...hypFrames.keys()];
  const hidx = new Map(hids.map((h, k) => [h, k]));
  const gain = new Float64Array(oids.length * hids.length);
  for (let i = 0; i < oids.length; i++) {
    const row = pairFrames.get(oids[i]);
    if (!row) continue;
    for (const [h, n] of row) gain[i * hids.length + (hidx.get(h) as number)] = -n;
  }
  const rowToCol = new Int32Array(oids.length);
  // Every pair is allowed (a zero gain is a valid, useless pair): this is a maximum-weight matching,
  // not a maximum-cardinality one.
  solver.solve(gain, oids.length, hids.length, rowToCol);
  for (let i = 0; i < oids.length; i++) if (rowToCol[i] >= 0) c.idtp -= gain[i * hids.length + rowToCol[i]];
  c.idfn = c.num_objects - c.idtp;
  c.idfp = c.num_predictions - c.idtp;
  return withRatios(c);
}

const div = (a: number, b: number) => (b === 0 ? NaN : a / b);

export function withRatios(c: MotCounts): MotMetrics {
  return {
    ...c,
    mota: 1 - div(c.num_misses + c.num_switches + c.num_false_positives, c.num_objects),
    motp: div(c.sum_distance, c.num_detections),
    idf1: div(2 * c.idtp, c.num_objects + c.num_predictions),
    idp: div(c.idtp, c.idtp + c.idfp),
    idr: div(c.idtp, c.idtp + c.idfn),
    precision: div(c.num_detections, c.num_detections + c.num_false_positives),
    recall: div(c.num_detections, c.num_objects),
  };
}

/** Pools several sequences the way py-motmetrics' OVERALL row does: counts are summed. */
export function poolMot(list: MotCounts[]): MotMetrics {
  const sum = {} as MotCounts;
  for (const key of Object.keys(list[0] ?? {}) as (keyof MotCounts)[]) {
    if (typeof list[0][key] !== 'number') continue;
    (sum[key] as number) = list.reduce((s, m) => s + m[key], 0);
  }
  return withRatios(sum);
}
