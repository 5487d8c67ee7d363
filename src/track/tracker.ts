/**
 * ByteTrack-class multi-object tracker with time-based parameters.
 *
 * Per frame (timestamps in ms, so frame drops and 5–30 fps sources need no retuning):
 *  1. every track's Kalman filter is advanced to the frame time;
 *  2. confident boxes are matched to confirmed tracks (tracked or lost) by IoU;
 *  3. tracks still tracked but unmatched take low-score boxes (occluded objects score low);
 *  4. leftover confident boxes are matched to tentative tracks;
 *  5. what is left is matched by Mahalanobis distance, for young tracks seen in the previous
 *     frame whose velocity is still unknown (at low frame rates their next box may not overlap
 *     the prediction); confirmed tracks that are still unmatched, lost ones included, may then
 *     be recovered along their direction of travel;
 *  6. new tracks come only from confident boxes; tracks are confirmed after `minHits` matches;
 *     lost tracks are kept for `lostBufferSec` seconds.
 * Matching can ignore classes (default): a car briefly detected as a truck keeps its ID, and the
 * track's class is the score-weighted majority of its detections.
 */
import type { Box } from '../core/types.js';
import { AssignmentSolver } from './assignment.js';
import { iou } from '../core/box-geometry.js';
import { COV_SIZE, defaultNoise, kalmanDistance, kalmanInit, kalmanPredict, kalmanUpdate, STATE_SIZE, type KalmanNoise } from './kalman.js';

export interface TrackerConfig {
  /** Boxes at or above this score are "confident": first-stage matching, may start tracks. */
  highScore: number;
  /** Boxes below this are ignored; between lowScore and highScore they only extend tracks. */
  lowScore: number;
  /** Minimum score of a box that starts a new track. */
  newTrackScore: number;
  /** Minimum IoU (prediction vs box) in the first stage. */
  matchIou: number;
  /** Minimum IoU for low-score boxes. */
  lowMatchIou: number;
  /** Minimum IoU between a tentative track and a box. */
  tentativeMatchIou: number;
  /**
   * Let tentative tracks take low-score boxes too (after confident ones, by IoU and by motion
   * gate). Off in ByteTrack; on
   * for detectors whose scores for real objects often dip below `highScore` (small darknet
   * models), where a new track would otherwise die at its first low-scored frame.
   */
  tentativeLowScore: boolean;
  /** Squared-Mahalanobis gate of the motion stage (9.49 = χ² 95 % with 4 dof); 0 disables it. */
  motionGate: number;
  /**
   * The motion stage is for tracks whose velocity is still poorly known (fewer hits than this):
   * at low frame rates a new object's second box often does not overlap its first. Older tracks
   * predict well enough for IoU, and loose motion gates on them cause ID switches in crowds.
   * It only takes tracks matched in the previous update: a lost track's position variance grows
   * with the square of the gap times its (still large) velocity variance, so after a second the
   * gate accepts boxes hundreds of pixels and several sizes away (a near car that drove off the
   * bottom edge took the ID of a distant car 190 px away, σ ≈ 120 px), and the jump is then
   * counted as a line crossing. Lost tracks come back by IoU with the prediction or along their
   * direction of travel (`recoverLost`), both bounded by the track's own speed and size.
   */
  motionMaxHits: number;
  /**
   * Recover confirmed tracks that found no box in the stages above (just missed or lost) along
   * their direction of travel: a box ahead of where the track was last
   * seen, in line with its motion, no farther than its speed allows and of similar size. A
   * constant-velocity prediction in the image overshoots or undershoots after a long occlusion
   * (perspective: a vehicle slows down in the image as it drives away); this does not depend on it.
   */
  recoverLost: boolean;
  /** How long a lost track may be recovered, seconds. */
  lostBufferSec: number;
  /** How long an unconfirmed track survives without a match, seconds (0: dies at its first miss). */
  tentativeBufferSec: number;
  /** Matches needed before a track is confirmed. */
  minHits: number;
  /**
   * ...and the time those matches must span, seconds: at high frame rates a few frames of a
   * flickering false box are not enough, at low frame rates `minHits` alone decides.
   */
  minConfirmSec: number;
  /** Match regardless of class (the track class is the majority vote). */
  classAgnostic: boolean;
  /** Multiply IoU by the detection score in the first stage (ByteTrack's fuse_score). */
  fuseScore: boolean;
  /**
   * Two boxes of different classes in one frame at IoU ≥ this are the detector's two labels for one
   * object (car 0.76 and motorcycle 0.85 on one car; NMS is per class), which would be counted twice:
   * one (ByteTracker.twinToDrop says which) takes no part in matching and votes for the track that gets
   * the other. 0 disables. Pairs of classes the tracker's owner says are two objects at one place (a
   * rider on a motorcycle seen from behind) are exempt: see ByteTracker's `twoObjects`.
   */
  crossClassDuplicateIou: number;
  /**
   * A lost track's prediction drifts: in the IoU stages it takes a box only at IoU ≥ this (when above
   * the stage's own threshold). At 0.2 a lost truck's prediction took a bus entering the picture the
   * other way (IoU 0.23), and the bus crossed the line as that truck.
   */
  lostMatchIou: number;
  noise: KalmanNoise;
}

export const defaultTrackerConfig: TrackerConfig = {
  highScore: 0.6,
  lowScore: 0.1,
  newTrackScore: 0.7,
  matchIou: 0.2,
  lowMatchIou: 0.5,
  tentativeMatchIou: 0.3,
  tentativeLowScore: false,
  motionGate: 9.4877,
  motionMaxHits: 10,
  recoverLost: true,
  lostBufferSec: 1.5,
  tentativeBufferSec: 0,
  minHits: 3,
  minConfirmSec: 0.15,
  classAgnostic: true,
  fuseScore: false,
  crossClassDuplicateIou: 0.7,
  lostMatchIou: 0.3,
  noise: defaultNoise,
};

export interface TrackerDetection {
  box: Box | Float64Array | number[];
  score: number;
  classId: number;
}

export type TrackState = 'tentative' | 'tracked' | 'lost' | 'removed';

/** A track as the tracker keeps it. Objects are reused by the tracker; copy what you keep. */
export class TrackedObject {
  readonly mean = new Float64Array(STATE_SIZE);
  readonly cov = new Float64Array(COV_SIZE);
  /** Kalman box [x1, y1, x2, y2] after this frame's update (or prediction while lost). */
  readonly box: Box = [0, 0, 0, 0];
  /** Last matched detection box. */
  readonly detBox: Box = [0, 0, 0, 0];
  state: TrackState = 'tentative';
  confirmed = false;
  hits = 0;
  score = 0;
  firstMs = 0;
  lastMs = 0;
  predictedMs = 0;
  /** Index into this frame's detections, or -1 when not matched this frame. */
  detIndex = -1;
  private votes = new Float64Array(8);

  constructor(readonly id: number) {}

  get classId(): number {
    let best = 0;
    for (let c = 1; c < this.votes.length; c++) if (this.votes[c] > this.votes[best]) best = c;
    return best;
  }

  vote(classId: number, score: number): void {
    if (classId >= this.votes.length) {
      const v = new Float64Array(Math.max(classId + 1, this.votes.length * 2));
      v.set(this.votes);
      this.votes = v;
    }
    this.votes[classId] += Math.max(score, 1e-3);
  }

  /** Velocity of the box centre, pixels per second. */
  get vx(): number {
    return this.mean[4];
  }
  get vy(): number {
    return this.mean[5];
  }

  syncBox(): void {
    const m = this.mean;
    this.box[0] = m[0] - m[2] / 2;
    this.box[1] = m[1] - m[3] / 2;
    this.box[2] = m[0] + m[2] / 2;
    this.box[3] = m[1] + m[3] / 2;
  }
}

export class ByteTracker {
  readonly config: TrackerConfig;
  private tracks: TrackedObject[] = [];
  private readonly solver = new AssignmentSolver();
  private cost = new Float64Array(256);
  private rowToCol = new Int32Array(64);
  private detUsed = new Uint8Array(64);
  private trackUsed = new Uint8Array(64);
  /** Per detection: the box of another class it duplicates (crossClassDuplicateIou), else -1. */
  private twinOf = new Int32Array(64);
  private rows: number[] = [];
  private cols: number[] = [];
  /** Time of the previous update: a track with `lastMs` at it was matched in the previous frame. */
  private prevMs = -Infinity;
  /** Tracks matched in the last update (tentative and confirmed), reused between calls. */
  readonly active: TrackedObject[] = [];
  /** Tracks dropped in the last update. */
  readonly removed: TrackedObject[] = [];

  /**
   * `twoObjects(a, b)`: whether boxes of classes a and b over one another are two objects (a person
   * and the bicycle they ride), so the cross-class duplicate rule must not merge them. Class ids alone
   * do not say which class is a person's; the analytics, which know the labels, do. `newId`: the id of each new
   * track (default 1, 2, …; a live pipeline's go on across restarts).
   */
  constructor(
    config: Partial<TrackerConfig> = {},
    private readonly twoObjects: (a: number, b: number) => boolean = () => false,
    private readonly newId: () => number = counter(),
  ) {
    this.config = { ...defaultTrackerConfig, ...config, noise: { ...defaultNoise, ...config.noise } };
  }

  /** Every live track (tentative, tracked, lost). */
  all(): readonly TrackedObject[] {
    return this.tracks;
  }

  /** Ends every track (the source stopped delivering): a vehicle seen afterwards starts a new one. Ids go on. */
  endAll(): void {
    this.tracks.length = 0;
    this.active.length = 0;
    this.removed.length = 0;
  }

  update(dets: ArrayLike<TrackerDetection>, tMs: number): TrackedObject[] {
    const cfg = this.config;
    const nd = dets.length;
    const nt = this.tracks.length;
    this.active.length = 0;
    this.removed.length = 0;
    if (this.detUsed.length < nd) this.detUsed = new Uint8Array(nd * 2);
    if (this.trackUsed.length < nt) this.trackUsed = new Uint8Array(nt * 2);
    this.detUsed.fill(0, 0, nd);
    this.trackUsed.fill(0, 0, nt);
    for (let d = 0; d < nd; d++) {
      const b = dets[d].box;
      // Unusable boxes (too low a score, empty, or not numbers) take no part in matching.
      if (!(dets[d].score >= cfg.lowScore) || !(b[2] > b[0]) || !(b[3] > b[1]) || !Number.isFinite(b[2] - b[0] + b[3] - b[1])) this.detUsed[d] = 1;
    }

    for (let i = 0; i < nt; i++) {
      const t = this.tracks[i];
      t.detIndex = -1;
      kalmanPredict(t.mean, 0, t.cov, 0, (tMs - t.predictedMs) / 1000, cfg.noise, t.state === 'lost');
      t.predictedMs = tMs;
      t.syncBox();
    }
    const twins = cfg.crossClassDuplicateIou > 0 && this.markTwins(dets, cfg.crossClassDuplicateIou);

    const high = (d: number) => dets[d].score >= cfg.highScore;
    const confirmed = (t: TrackedObject) => t.confirmed && (t.state === 'tracked' || t.state === 'lost');
    const prevMs = this.prevMs;
    this.prevMs = tMs;
    const fresh = (t: TrackedObject) => t.lastMs >= prevMs;
    this.markClaims(dets, prevMs);
    this.matchStage(dets, tMs, confirmed, high, 'iou', cfg.matchIou, cfg.fuseScore);
    this.matchStage(dets, tMs, (t) => t.confirmed && t.state === 'tracked', (d) => !high(d), 'iou', cfg.lowMatchIou, false);
    this.matchStage(dets, tMs, (t) => !t.confirmed, high, 'iou', cfg.tentativeMatchIou, false);
    if (cfg.tentativeLowScore) this.matchStage(dets, tMs, (t) => !t.confirmed, (d) => !high(d), 'iou', cfg.lowMatchIou, false);
    if (cfg.motionGate > 0) this.matchStage(dets, tMs, (t) => t.hits < cfg.motionMaxHits && fresh(t), high, 'motion', cfg.motionGate, false);
    if (cfg.motionGate > 0 && cfg.tentativeLowScore) this.matchStage(dets, tMs, (t) => !t.confirmed && fresh(t), (d) => !high(d), 'motion', cfg.motionGate, false);
    if (cfg.recoverLost) this.matchStage(dets, tMs, (t) => t.confirmed && t.state !== 'tentative', high, 'recover', 0, false);

    // Unmatched tracks age; expired ones go.
    let keep = 0;
    for (let i = 0; i < nt; i++) {
      const t = this.tracks[i];
      if (!this.trackUsed[i]) {
        const idle = (tMs - t.lastMs) / 1000;
        // Written as !(idle <= buffer): a track with a time that is not a number must go, not stay forever.
        if (!t.confirmed) {
          if (!(idle <= cfg.tentativeBufferSec)) t.state = 'removed';
        } else {
          t.state = !(idle <= cfg.lostBufferSec) ? 'removed' : 'lost';
        }
      }
      if (t.state === 'removed') this.removed.push(t);
      else this.tracks[keep++] = t;
    }
    this.tracks.length = keep;

    for (let d = 0; d < nd; d++) {
      if (this.detUsed[d] || dets[d].score < cfg.newTrackScore) continue;
      const t = new TrackedObject(this.newId());
      const b = dets[d].box;
      kalmanInit(t.mean, 0, t.cov, 0, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1], cfg.noise);
      t.firstMs = t.lastMs = t.predictedMs = tMs;
      t.hits = 1;
      t.confirmed = cfg.minHits <= 1 && cfg.minConfirmSec <= 0;
      t.state = t.confirmed ? 'tracked' : 'tentative';
      this.record(t, dets[d], d);
      this.tracks.push(t);
      this.active.push(t);
    }
    if (twins) this.voteTwins(dets);
    return this.active;
  }

  /**
   * Takes out of this update every box that is another box of this frame under another class label
   * (IoU ≥ minIou; NMS is per class, so a detector may box one car as a car and as a motorcycle).
   * Left in, each could hold a track of its own, a lost neighbour taking one (a vehicle counted twice).
   * Which one: twinToDrop. Runs after the tracks' predictions. Returns whether any was found.
   */
  private markTwins(dets: ArrayLike<TrackerDetection>, minIou: number): boolean {
    const nd = dets.length;
    if (this.twinOf.length < nd) this.twinOf = new Int32Array(nd * 2);
    this.twinOf.fill(-1, 0, nd);
    let found = false;
    for (let d = 0; d < nd; d++) {
      if (this.detUsed[d]) continue;
      const a = dets[d];
      for (let e = d + 1; e < nd; e++) {
        if (this.detUsed[e]) continue;
        const b = dets[e];
        if (b.classId === a.classId || b.box[0] >= a.box[2] || a.box[0] >= b.box[2] || this.twoObjects(a.classId, b.classId)) continue;
        if (iou(a.box[0], a.box[1], a.box[2], a.box[3], b.box[0], b.box[1], b.box[2], b.box[3]) < minIou) continue;
        const loser = this.twinToDrop(d, a, e, b);
        this.detUsed[loser] = 1;
        this.twinOf[loser] = loser === d ? e : d;
        found = true;
        if (loser === d) break;
      }
    }
    return found;
  }

  /**
   * Which of two labels of one object to leave out. Never one the other cannot stand in for: a box of a
   * higher score tier can start a track or bring a lost one back where one of a lower tier cannot (a 0.9
   * car box is kept over a 0.3 truck box whatever their fits). Within a tier, the one that fits a
   * track's prediction better stays (the other, a little off, could leave the track unmatched for a
   * frame as it crosses a line), else the higher-scored.
   */
  private twinToDrop(d: number, a: TrackerDetection, e: number, b: TrackerDetection): number {
    const ta = this.scoreTier(a.score);
    const tb = this.scoreTier(b.score);
    if (ta !== tb) return ta > tb ? e : d;
    const fitA = this.bestFit(a.box);
    const fitB = this.bestFit(b.box);
    if (fitA !== fitB) return fitA > fitB ? e : d;
    return b.score > a.score ? d : e;
  }

  /** 2: can start a track; 1: can match in the confident stages; 0: only extends tracked ones. */
  private scoreTier(score: number): number {
    const cfg = this.config;
    return score >= cfg.newTrackScore ? 2 : score >= cfg.highScore ? 1 : 0;
  }

  /** The highest IoU of a box with a track's predicted box (0 with none). */
  private bestFit(b: ArrayLike<number>): number {
    let best = 0;
    for (const t of this.tracks) {
      const tb = t.box;
      if (tb[0] >= b[2] || b[0] >= tb[2]) continue;
      const o = iou(tb[0], tb[1], tb[2], tb[3], b[0], b[1], b[2], b[3]);
      if (o > best) best = o;
    }
    return best;
  }

  /** A box taken out as a twin votes its class for the track that got the box it duplicates. */
  private voteTwins(dets: ArrayLike<TrackerDetection>): void {
    const nd = dets.length;
    for (let d = 0; d < nd; d++) {
      let w = this.twinOf[d];
      if (w < 0) continue;
      // The box it duplicates may itself have lost to a third label: follow to the one kept.
      for (let hops = 0; this.twinOf[w] >= 0 && hops < nd; hops++) w = this.twinOf[w];
      for (const t of this.active) {
        if (t.detIndex !== w) continue;
        t.vote(dets[d].classId, dets[d].score);
        break;
      }
    }
  }

  private record(t: TrackedObject, det: TrackerDetection, d: number): void {
    t.detIndex = d;
    t.score = det.score;
    t.vote(det.classId, det.score);
    const b = det.box;
    t.detBox[0] = b[0];
    t.detBox[1] = b[1];
    t.detBox[2] = b[2];
    t.detBox[3] = b[3];
    t.syncBox();
  }

  /** Per detection of this update: the fresh, moving track whose prediction fits it best (see markClaims), else null. */
  private claimedBy: (TrackedObject | null)[] = [];
  private claimIou = new Float64Array(64);

  /**
   * For each track seen in the previous update with a velocity of its own (two matches or more), the box of this
   * update that fits its prediction best (IoU ≥ tentativeMatchIou): that vehicle's box, which a lost track moving
   * against it must not take (`oncoming`). A new vehicle's tentative track competes only after the lost tracks,
   * so without this a lost track's prediction took the box of a vehicle coming the other way.
   */
  private markClaims(dets: ArrayLike<TrackerDetection>, prevMs: number): void {
    const nd = dets.length;
    const claimed = this.claimedBy;
    claimed.length = nd;
    claimed.fill(null);
    // Only a lost track is ever refused a box: with none (most frames) there is nothing to mark.
    if (!this.tracks.some((t) => t.state === 'lost')) return;
    if (this.claimIou.length < nd) this.claimIou = new Float64Array(nd * 2);
    const best = this.claimIou;
    best.fill(0, 0, nd);
    const min = this.config.tentativeMatchIou;
    for (const u of this.tracks) {
      if (u.state === 'lost' || u.hits < 2 || u.lastMs < prevMs) continue;
      const ub = u.box;
      let bi = -1;
      let bo = min;
      for (let d = 0; d < nd; d++) {
        const b = dets[d].box;
        if (this.detUsed[d] || ub[0] >= b[2] || b[0] >= ub[2]) continue;
        const o = iou(ub[0], ub[1], ub[2], ub[3], b[0], b[1], b[2], b[3]);
        if (o >= bo) {
          bo = o;
          bi = d;
        }
      }
      if (bi >= 0 && bo > best[bi]) {
        best[bi] = bo;
        claimed[bi] = u;
      }
    }
  }

  /** Whether detection d is the box of a vehicle moving against lost track t (markClaims). */
  private oncoming(t: TrackedObject, d: number): boolean {
    const u = this.claimedBy[d];
    return u !== null && u !== t && opposed(t, u);
  }

  private colOrder = new Int32Array(64);
  private colX1 = new Float64Array(64);

  /**
   * IoU costs for the current rows × cols. Only boxes that overlap horizontally can have IoU > 0,
   * so detections are sorted by left edge and each track looks only at the slice that can reach it:
   * near-linear in the number of objects instead of quadratic.
   */
  private iouCosts(dets: ArrayLike<TrackerDetection>, nr: number, nc: number, threshold: number, fuseScore: boolean): void {
    const cfg = this.config;
    const { rows, cols, cost } = this;
    if (this.colOrder.length < nc) {
      this.colOrder = new Int32Array(nc * 2);
      this.colX1 = new Float64Array(nc * 2);
    }
    const order = this.colOrder.subarray(0, nc);
    let maxW = 0;
    for (let c = 0; c < nc; c++) {
      order[c] = c;
      const b = dets[cols[c]].box;
      if (b[2] - b[0] > maxW) maxW = b[2] - b[0];
    }
    order.sort((a, b) => dets[cols[a]].box[0] - dets[cols[b]].box[0]);
    const x1 = this.colX1;
    for (let k = 0; k < nc; k++) x1[k] = dets[cols[order[k]]].box[0];
    cost.fill(Infinity, 0, nr * nc);
    for (let r = 0; r < nr; r++) {
      const t = this.tracks[rows[r]];
      const tb = t.box;
      const tClass = cfg.classAgnostic ? -1 : t.classId;
      // First detection whose left edge is beyond (track left − widest box): nothing before can overlap.
      let lo = 0;
      let hi = nc;
      const from = tb[0] - maxW;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (x1[mid] <= from) lo = mid + 1;
        else hi = mid;
      }
      for (let k = lo; k < nc && x1[k] < tb[2]; k++) {
        const c = order[k];
        const det = dets[cols[c]];
        if (tClass >= 0 && det.classId !== tClass) continue;
        const b = det.box;
        const o = iou(tb[0], tb[1], tb[2], tb[3], b[0], b[1], b[2], b[3]);
        if (o < (t.state === 'lost' ? Math.max(threshold, cfg.lostMatchIou) : threshold)) continue;
        if (t.state === 'lost' && this.oncoming(t, cols[c])) continue;
        cost[r * nc + c] = 1 - (fuseScore ? o * det.score : o);
      }
    }
  }

  /** One association stage over the tracks and detections not yet matched that pass the filters. */
  private matchStage(
    dets: ArrayLike<TrackerDetection>,
    tMs: number,
    trackOk: (t: TrackedObject) => boolean,
    detOk: (d: number) => boolean,
    kind: 'iou' | 'motion' | 'recover',
    threshold: number,
    fuseScore: boolean,
  ): void {
    const cfg = this.config;
    const rows = this.rows;
    const cols = this.cols;
    rows.length = 0;
    cols.length = 0;
    for (let i = 0; i < this.tracks.length; i++) if (!this.trackUsed[i] && trackOk(this.tracks[i])) rows.push(i);
    for (let d = 0; d < dets.length; d++) if (!this.detUsed[d] && detOk(d)) cols.push(d);
    const nr = rows.length;
    const nc = cols.length;
    if (nr === 0 || nc === 0) return;
    if (this.cost.length < nr * nc) this.cost = new Float64Array(nr * nc * 2);
    if (this.rowToCol.length < nr) this.rowToCol = new Int32Array(nr * 2);
    const cost = this.cost;
    if (kind === 'iou') this.iouCosts(dets, nr, nc, threshold, fuseScore);
    else {
      for (let r = 0; r < nr; r++) {
        const t = this.tracks[rows[r]];
        const tClass = cfg.classAgnostic ? -1 : t.classId;
        const gap = (tMs - t.lastMs) / 1000;
        for (let c = 0; c < nc; c++) {
          const det = dets[cols[c]];
          const b = det.box;
          let v = Infinity;
          if (tClass < 0 || det.classId === tClass) {
            if (kind === 'recover') {
              v = recoveryCost(t, b, gap);
              if (v < Infinity && this.oncoming(t, cols[c])) v = Infinity;
            } else {
              const d2 = kalmanDistance(t.mean, 0, t.cov, 0, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1], cfg.noise);
              if (d2 <= threshold) v = d2;
            }
          }
          cost[r * nc + c] = v;
        }
      }
    }
    this.solver.solve(cost, nr, nc, this.rowToCol);
    for (let r = 0; r < nr; r++) {
      const c = this.rowToCol[r];
      if (c < 0) continue;
      const ti = rows[r];
      const d = cols[c];
      const t = this.tracks[ti];
      const det = dets[d];
      const b = det.box;
      this.trackUsed[ti] = 1;
      this.detUsed[d] = 1;
      if (kind === 'recover') {
        // The prediction is what failed: restart the filter at the box, with the mean velocity over the gap.
        const gap = (tMs - t.lastMs) / 1000;
        const vx = ((b[0] + b[2]) / 2 - (t.detBox[0] + t.detBox[2]) / 2) / gap;
        const vy = ((b[1] + b[3]) / 2 - (t.detBox[1] + t.detBox[3]) / 2) / gap;
        kalmanInit(t.mean, 0, t.cov, 0, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1], cfg.noise);
        t.mean[4] = vx;
        t.mean[5] = vy;
      } else {
        kalmanUpdate(t.mean, 0, t.cov, 0, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1], cfg.noise);
      }
      t.hits++;
      t.lastMs = tMs;
      if (!t.confirmed && t.hits >= cfg.minHits && (tMs - t.firstMs) / 1000 >= cfg.minConfirmSec - 1e-9) t.confirmed = true;
      t.state = t.confirmed ? 'tracked' : 'tentative';
      this.record(t, det, d);
      this.active.push(t);
    }
  }
}

/**
 * Whether two tracks move against each other: both faster than a box size per second (the velocity of a
 * near-stationary one is mostly noise) and more than 120° apart (not two that merely converge).
 */
function opposed(a: TrackedObject, b: TrackedObject): boolean {
  const sa = Math.hypot(a.vx, a.vy);
  const sb = Math.hypot(b.vx, b.vy);
  if (sa < Math.min(a.box[2] - a.box[0], a.box[3] - a.box[1]) || sb < Math.min(b.box[2] - b.box[0], b.box[3] - b.box[1])) return false;
  return a.vx * b.vx + a.vy * b.vy < -0.5 * sa * sb;
}

function counter(): () => number {
  let next = 1;
  return () => next++;
}

/**
 * Cost of recovering lost track `t` with box `b` after `gap` seconds, or Infinity when implausible:
 * the box must lie ahead of the last observation along the track's velocity (within half a box
 * sideways), no farther than 1.5× the distance its speed covers plus one box, with a height within
 * a factor 2.5 of the last one (a vehicle driving away shrinks fast near the camera). Cost: sideways offset plus size change, in box units.
 */
function recoveryCost(t: TrackedObject, b: ArrayLike<number>, gap: number): number {
  const last = t.detBox;
  const lw = last[2] - last[0];
  const lh = last[3] - last[1];
  const bh = b[3] - b[1];
  if (!(gap > 0) || !(lh > 0) || !(bh > 0)) return Infinity;
  const ratio = bh / lh;
  if (ratio > 2.5 || ratio < 1 / 2.5) return Infinity;
  const speed = Math.hypot(t.vx, t.vy);
  const size = Math.max(Math.min(lw, lh), 1);
  // A track that barely moves is left to the IoU stages.
  if (speed * gap < size * 0.5) return Infinity;
  const dx = (b[0] + b[2]) / 2 - (last[0] + last[2]) / 2;
  const dy = (b[1] + b[3]) / 2 - (last[1] + last[3]) / 2;
  const ux = t.vx / speed;
  const uy = t.vy / speed;
  const along = dx * ux + dy * uy;
  const side = Math.abs(dx * uy - dy * ux);
  if (along < 0 || along > 1.5 * speed * gap + size || side > 0.5 * size) return Infinity;
  return side / size + Math.abs(Math.log(ratio));
}
