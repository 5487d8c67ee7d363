/**
 * Per-source traffic analytics: tracking, line counts (per line, direction and class, in total and
 * per interval), zone enter/exit/dwell and occupancy, and calibrated ground speed.
 *
 * Only confirmed tracks produce counts and events. A crossing or zone entry seen while a track was
 * still tentative is kept and reported when the track is confirmed (so a fast vehicle at 5 fps is
 * not missed), and dropped if the track dies unconfirmed (so a flickering false box never counts).
 * Each track counts at most once per line and direction; its class is the majority vote of its
 * detections at the time it is counted. With `movements`, a track that ends having crossed one line
 * first and another last is told as a movement between the two (a turning-movement count).
 */
import { UserError } from '../core/errors.js';
import { logger } from '../core/log.js';
import { TRAFFIC_CLASSES, trafficClassOf } from '../core/traffic-classes.js';
import type { SourceCounts, SourceOverlay } from '../core/feed.js';
import type { Detection, FrameInfo, LineCounts, MovementCounts, Track, TrafficEvent } from '../core/types.js';
import { bumpMovement } from '../core/source-counts.js';
import { IntervalCoverage, coveredSeconds } from '../core/interval-coverage.js';
import { Homography } from './homography.js';
import { CountingLine, newLineSideState, type LineSideState } from './lines.js';
import { defaultSpeedConfig, SpeedEstimator, type SpeedConfig } from './speed.js';
import { ByteTracker, defaultTrackerConfig, type TrackedObject, type TrackerConfig } from './tracker.js';
import { convexHull } from '../core/convex-hull.js';
import { pointInPolygon } from './geometry.js';
import { PolygonZone, type ZoneState } from './zones.js';

/** Interval buckets a source keeps unless told otherwise: a day of minutes. */
export const DEFAULT_KEPT_INTERVALS = 1440;

/**
 * A movement is known only when its track ends, seconds after its last crossing: one told more than this after
 * its last crossing's interval ended is counted in the interval it was told in, as that one has been written
 * to a live counts file by then (which waits 10 s past an interval's end; this leaves 5 s for the frame's way
 * through detection). So a file's intervals add up to the total.
 */
export const MOVEMENT_LATE_MS = 5000;

/**
 * How long a speed stands while frames add no position (a box cut off by the picture's edge, an anchor past the
 * calibrated area), ms; and how long before a crossing a speed may have been measured to be the crossing's.
 */
const SPEED_HOLD_MS = 1000;

/** Speeds measured per source before most of them being over the limit says the calibration is wrong, not the traffic. */
const IMPLAUSIBLE_AFTER = 50;

/** Vehicles whose speeds must be over the limit as well before the calibration, not a tracking slip, is blamed. */
const TOO_FAST_TRACKS = 3;

/** Ground points of a calibration further apart than this (or all closer than 1 m) are not in metres, most likely. */
const MAX_CALIBRATION_SPAN_M = 1000;

type Points = readonly (readonly [number, number])[];

/**
 * The lines, zones and calibration of a source with points outside its w×h picture, each with where it is in
 * the source's settings (`lines[0].points`) and the warning: said at run time once the picture's size is known,
 * and by `check` for a recording it can open.
 */
export function shapesOutsidePicture(
  scene: { lines?: readonly { name: string; points: Points }[]; zones?: readonly { name: string; polygon: Points }[]; calibration?: { image: Points } },
  w: number,
  h: number,
): { key: (string | number)[]; message: string }[] {
  const outside = (pts: Points) => pts.filter(([x, y]) => x < -1 || y < -1 || x > w + 1 || y > h + 1).length;
  const shapes = [
    ...(scene.lines ?? []).map((l, i) => ({ what: `line '${l.name}'`, key: ['lines', i, 'points'], pts: l.points })),
    ...(scene.zones ?? []).map((z, i) => ({ what: `zone '${z.name}'`, key: ['zones', i, 'polygon'], pts: z.polygon })),
    ...(scene.calibration ? [{ what: 'calibration', key: ['calibration', 'image'], pts: scene.calibration.image }] : []),
  ];
  return shapes.flatMap(({ what, key, pts }) => {
    const n = outside(pts);
    return n ? [{ key, message: `${what} has ${n === pts.length ? 'every point' : `${n} of its ${pts.length} points`} outside the ${w}x${h} picture (source pixels)` }] : [];
  });
}

export interface AnalyticsConfig {
  source: string;
  lines?: { name: string; points: [[number, number], [number, number]] }[];
  zones?: { name: string; polygon: [number, number][] }[];
  calibration?: { image: [number, number][]; world: [number, number][] };
  /** Length of a count interval, ms (default 60 000). */
  countIntervalMs?: number;
  /** Additive: tracker overrides. */
  tracker?: Partial<TrackerConfig>;
  /** Additive: speed estimation overrides. */
  speed?: Partial<SpeedConfig>;
  /**
   * Additive: which clock dates events and count intervals. 'capture' (default): the wall-clock time
   * the frame arrived (live sources). 'media': the recording's own time, ms from its start (a file in
   * batch mode, processed faster or slower than real time): intervals are its minutes, as in `xnorcam
   * batch`, not minutes of the afternoon it happened to be processed in.
   */
  clock?: 'capture' | 'media';
  /** Additive: where the source's warnings go (a mistyped line or calibration); default the log, with the source's name. */
  warn?: (message: string) => void;
  /** Additive: number of interval buckets kept (default DEFAULT_KEPT_INTERVALS, a day of minutes). */
  maxIntervals?: number;
  /**
   * Additive: turning movements. Each confirmed track that crossed two different lines first and last is
   * told as a `movement` event when it ends (needs two lines or more).
   */
  movements?: boolean;
  /**
   * Additive: where new track ids come from (default 1, 2, … for this instance). A live pipeline gives ids that
   * go on across reloads and restarts (src/ops/track-ids.ts), so (source, trackId) names one vehicle.
   */
  trackIds?: () => number;
}

/**
 * Score thresholds for darknet-style detectors (objectness × class probability, reported from
 * 0.25): small YOLO models give real vehicles scores spread evenly over 0.25–1, so the offline
 * defaults (0.6 / 0.7, tuned on Faster R-CNN detections) would leave many vehicles without a
 * track, and a new track must survive a low-scored frame. Counting still needs a confirmed track
 * and a real crossing, so false boxes stay out.
 */
export const liveTrackerDefaults: Partial<TrackerConfig> = { highScore: 0.45, newTrackScore: 0.5, tentativeLowScore: true };

/** How long a source's tracker keeps a lost track (ms), with its overrides: a track unseen for longer has ended. */
export function lostTrackMs(overrides?: Partial<TrackerConfig>): number {
  return { ...defaultTrackerConfig, ...liveTrackerDefaults, ...overrides }.lostBufferSec * 1000;
}

interface PendingEvent {
  event: TrafficEvent;
  /** For crossings: line index and direction to add to counts when flushed. */
  line?: number;
  direction?: 'forward' | 'backward';
  /** For zone events: the zone's index. */
  zone?: number;
}

interface TrackInfo {
  lineState: LineSideState[];
  /** Per line: bit 1 forward counted, bit 2 backward counted. */
  counted: Uint8Array;
  zoneState: ZoneState[];
  /** Per zone, when the track entered, on the forward-only clock (tMs). */
  enteredT: number[];
  /**
   * Per zone, the class its zone-enter was reported with: its zone-exit says the same, so enters and exits
   * summed by class balance (a track first called a person, then a motorcycle, left as a class it never entered as).
   */
  enteredClass: (string | undefined)[];
  /** When a position last went into the speed estimate (tMs), to let a speed no longer measured lapse. */
  speedT: number;
  /** The last speed measured and when (tMs): a crossing carries it, though the vehicle left the calibrated area since. */
  measuredKmh?: number;
  measuredT: number;
  /** Events seen while the track was tentative. */
  pending: PendingEvent[];
  /** Movements: the first line it crossed (and when), and the last with its crossing's ptsMs and at; -1 before any. */
  firstLine: number;
  /** Crossings are ordered on the analytics' own clock (crossT), which never goes back, not by ptsMs, which restarts with a stream's timestamps. */
  firstCrossT: number;
  lastCrossT: number;
  lastLine: number;
  lastCrossMs: number;
  lastCrossAt: number;
  speed?: SpeedEstimator;
  speedKmh?: number;
  lastSeenMs: number;
  /** lastSeenMs on the forward-only clock, for dwell times. */
  lastSeenT: number;
  lastSeenAt: number;
}

export class SourceAnalytics {
  private readonly tracker: ByteTracker;
  private readonly lines: CountingLine[];
  private readonly zones: PolygonZone[];
  private readonly homography?: Homography;
  private readonly calibQuad?: [number, number][];
  private readonly intervalMs: number;
  private readonly maxIntervals: number;
  private readonly speedCfg: SpeedConfig;
  private readonly info = new Map<number, TrackInfo>();
  private readonly classNames = new Map<number, string>();
  /** Per class id, whether the class is a person (for the tracker's cross-class duplicate rule). */
  private readonly personClasses = new Map<number, boolean>();
  private total: LineCounts = {};
  private readonly buckets = new Map<number, LineCounts>();
  /** With `movements`: in total, and per interval (by start, as `buckets`). */
  private readonly movedTotal: MovementCounts = {};
  private readonly moved = new Map<number, MovementCounts>();
  /** Per interval (by start, as `buckets`), the ms of it that had frames counted: an outage in it shows. */
  private readonly covered = new Map<number, number>();
  private readonly coverage: IntervalCoverage;
  /** The latest analysed frame's time on the interval clock: when a movement told by finish() was told. */
  private lastAt = -Infinity;
  private lastT = -Infinity;
  /** The last presentation time as given (plus tOffset), and the frame period seen between distinct ones. */
  private lastRaw = -Infinity;
  private framesSinceRaw = 0;
  private periodSamples = 0;
  private lastDt = 100;
  private tOffset = 0;
  private readonly ground: [number, number] = [0, 0];
  /** The picture size the lines, zones and calibration were last checked against (a camera may come back at another). */
  private checkedSize?: readonly [number, number];
  /** Speed fits of this source, and those over the limit: most over it is a calibration in the wrong unit. */
  private speedFits = 0;
  private speedsTooFast = 0;
  /** Tracks with a speed over the limit (up to TOO_FAST_TRACKS): one vehicle's id swap is no wrong calibration. */
  private readonly tooFastTracks = new Set<number>();
  private calibrationWarned = false;
  private readonly warn: (message: string) => void;

  constructor(private readonly cfg: AnalyticsConfig) {
    const src = cfg.source;
    this.warn = cfg.warn ?? ((message) => logger.warn(message, { source: src }));
    // A person over a bicycle or motorcycle is its rider, and a person is never the detector's second label
    // for a vehicle: a person box is never merged into another class's (the motorcycle under a rider may be
    // boxed as a car too).
    this.tracker = new ByteTracker({ ...liveTrackerDefaults, ...cfg.tracker }, (a, b) => this.isPerson(a) || this.isPerson(b), cfg.trackIds);
    this.lines = (cfg.lines ?? []).map((l) => {
      if (!l.points || l.points.length !== 2) throw new UserError(`${src}: line '${l.name}' needs exactly 2 points`);
      if (l.points[0][0] === l.points[1][0] && l.points[0][1] === l.points[1][1]) throw new UserError(`${src}: line '${l.name}' has two identical points`);
      return new CountingLine(l.name, l.points[0], l.points[1]);
    });
    this.zones = (cfg.zones ?? []).map((z) => {
      if (!z.polygon || z.polygon.length < 3) throw new UserError(`${src}: zone '${z.name}' needs at least 3 points`);
      return new PolygonZone(z.name, z.polygon);
    });
    const names = [...this.lines.map((l) => l.name), ...this.zones.map((z) => z.name)];
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new UserError(`${src}: line/zone name '${dup}' is used twice`);
    if (cfg.calibration) {
      this.homography = Homography.fromPoints(cfg.calibration.image, cfg.calibration.world, `${src}: calibration`);
      // The area the four points span, whatever order they were listed in (pairs, not a path).
      this.calibQuad = convexHull(cfg.calibration.image);
    }
    this.intervalMs = cfg.countIntervalMs ?? 60_000;
    if (!(this.intervalMs > 0)) throw new UserError(`${src}: countIntervalMs must be positive, got ${cfg.countIntervalMs}`);
    this.maxIntervals = cfg.maxIntervals ?? DEFAULT_KEPT_INTERVALS;
    this.speedCfg = { ...defaultSpeedConfig, ...cfg.speed };
    // One line has no second to leave by: every movement would be none, and saying nothing would pass for no traffic.
    if (cfg.movements && this.lines.length < 2) throw new UserError(`${src}: movements need at least two lines (one across each approach), got ${this.lines.length}`);
    this.total = this.emptyCounts();
    this.coverage = new IntervalCoverage(this.intervalMs, (start, ms) => {
      // Only an interval still kept (a gap over an interval too short to have had a frame makes none).
      if (this.buckets.has(start)) this.covered.set(start, (this.covered.get(start) ?? 0) + ms);
    });
  }

  /** `undetected`: the detector failed on this frame (its detections are empty, not an empty road). */
  update(frame: FrameInfo, detections: Detection[], undetected = false): { tracks: Track[]; events: TrafficEvent[] } {
    if (frame.width > 0 && frame.height > 0 && (frame.width !== this.checkedSize?.[0] || frame.height !== this.checkedSize[1])) this.checkGeometry(frame.width, frame.height);
    for (const d of detections) {
      if (this.classNames.has(d.classId)) continue;
      this.classNames.set(d.classId, d.className);
      this.personClasses.set(d.classId, trafficClassOf(d.className) === 'person');
    }
    const tMs = this.mediaTime(frame.ptsMs);
    // On the forward-only clock: after a stream restarts its timestamps, video time goes on, not back
    // into intervals already closed.
    const at = this.cfg.clock === 'media' ? tMs : frame.capturedAt;
    if (!undetected) this.bucket(at);
    this.coverage.frame(at, frame.seq, !undetected);
    this.lastAt = Math.max(this.lastAt, at);
    const events: TrafficEvent[] = [];
    const active = this.tracker.update(detections, tMs);
    const tracks: Track[] = [];

    for (const t of active) {
      let info = this.info.get(t.id);
      if (!info) this.info.set(t.id, (info = this.newInfo()));
      info.lastSeenMs = frame.ptsMs;
      info.lastSeenT = tMs;
      info.lastSeenAt = at;
      const b = t.box;
      const ax = (b[0] + b[2]) / 2;
      const ay = b[3];
      const h = b[3] - b[1];
      const cls = this.className(t.classId);
      this.observeSpeed(t, info, tMs, frame.width, frame.height);

      for (let i = 0; i < this.lines.length; i++) {
        const dir = this.lines[i].observe(info.lineState[i], ax, ay, h, tMs);
        if (!dir) continue;
        // Dated when the anchor went over the line, not at this frame that made it certain.
        const early = tMs - info.lineState[i].crossT;
        const crossMs = roundMicro(frame.ptsMs - early);
        const crossAt = this.cfg.clock === 'media' ? roundMicro(at - early) : Math.round(at - early);
        // Every crossing, a repeated one too (not counted again): a movement ends where the vehicle last went over.
        noteCrossing(info, i, info.lineState[i].crossT, crossMs, crossAt);
        const bit = dir === 'forward' ? 1 : 2;
        if (info.counted[i] & bit) continue;
        info.counted[i] |= bit;
        const event: TrafficEvent = { type: 'line-crossing', source: this.cfg.source, ptsMs: crossMs, at: crossAt, line: this.lines[i].name, direction: dir, trackId: t.id, className: cls };
        const kmh = speedAt(info, info.lineState[i].crossT);
        if (kmh !== undefined) event.speedKmh = Math.round(kmh * 10) / 10;
        info.pending.push({ event, line: i, direction: dir });
      }
      for (let z = 0; z < this.zones.length; z++) {
        if (!this.zones[z].observe(info.zoneState[z], ax, ay, h, frame.width, frame.height)) continue;
        if (info.zoneState[z].inside) {
          info.enteredT[z] = tMs;
          info.pending.push({ event: { type: 'zone-enter', source: this.cfg.source, ptsMs: frame.ptsMs, at, zone: this.zones[z].name, trackId: t.id, className: cls }, zone: z });
        } else {
          info.pending.push({ event: this.exitEvent(z, t.id, cls, frame.ptsMs, tMs, at, info), zone: z });
        }
      }
      if (t.confirmed) this.flush(info, t, events);

      const track: Track = {
        id: t.id,
        classId: t.classId,
        className: cls,
        score: t.score,
        box: [b[0], b[1], b[2], b[3]],
        velocity: [t.vx, t.vy],
        confirmed: t.confirmed,
        ageMs: tMs - t.firstMs,
      };
      if (info.speedKmh !== undefined) track.speedKmh = Math.round(info.speedKmh * 10) / 10;
      tracks.push(track);
    }

    for (const t of this.tracker.removed) {
      const info = this.info.get(t.id);
      if (!info) continue;
      if (t.confirmed) {
        // A confirmed track that vanishes inside a zone leaves it at the time it was last seen.
        for (let z = 0; z < this.zones.length; z++) {
          if (info.zoneState[z].inside) events.push(this.exitEvent(z, t.id, this.className(t.classId), info.lastSeenMs, info.lastSeenT, info.lastSeenAt, info));
        }
        this.pushMovement(t, info, events, at);
      }
      this.info.delete(t.id);
    }
    return { tracks, events };
  }

  /**
   * The source has ended (a recording's end, a stop, a reload) or stopped delivering (a camera down): every
   * confirmed track still in a zone leaves it at its last sighting, marked stillInside, so a dwell study
   * sees every vehicle that entered, and occupancy reads empty rather than showing vehicles nobody can see.
   * Tentative tracks leave nothing, as when they die unconfirmed. Every track ends: a vehicle seen after a
   * camera comes back is a new one, not matched to where one stood before the outage.
   */
  finish(): TrafficEvent[] {
    const events: TrafficEvent[] = [];
    for (const t of this.tracker.all()) {
      const info = this.info.get(t.id);
      if (!info || !t.confirmed) continue;
      for (let z = 0; z < this.zones.length; z++) {
        if (!info.zoneState[z].inside) continue;
        const e = this.exitEvent(z, t.id, this.className(t.classId), info.lastSeenMs, info.lastSeenT, info.lastSeenAt, info);
        events.push({ ...e, stillInside: true });
      }
      this.pushMovement(t, info, events, this.lastAt);
    }
    this.info.clear();
    this.tracker.endAll();
    return events;
  }

  /**
   * Lines and zones are in source pixels, typed by hand: one drawn for another camera, or for 1280×720
   * on a 640×360 stream, counts nothing and says nothing. Told when the picture's size is known, and again
   * when a camera comes back at another size (reconfigured, or reset to its defaults), which moves every
   * shape off the road it was drawn on, even one still inside the picture.
   */
  private checkGeometry(w: number, h: number): void {
    const was = this.checkedSize;
    this.checkedSize = [w, h];
    const shapes = [this.lines.length && 'lines', this.zones.length && 'zones', this.cfg.calibration && 'calibration'].filter((s): s is string => Boolean(s));
    if (was && shapes.length) {
      const its = shapes.length > 1 ? `${shapes.slice(0, -1).join(', ')} and ${shapes.at(-1)}` : shapes[0];
      const [are, they] = its === 'calibration' ? ['is', 'it is'] : ['are', 'they are'];
      const from = `${was[0]}x${was[1]}`;
      this.warn(
        `source size changed from ${from} to ${w}x${h}: its ${its} ${are} in source pixels of the ${from} picture, so on this one ${they} ` +
          `misplaced even where inside it (counting the wrong places): set the camera back to ${from}, or redraw for ${w}x${h}`,
      );
    }
    for (const { message } of shapesOutsidePicture(this.cfg, w, h)) this.warn(message);
    if (!was && this.cfg.calibration) this.checkCalibrationSpan(this.cfg.calibration.world);
  }

  /** A calibration typed in centimetres (or kilometres) passes every other check; its size on the ground gives it away. */
  private checkCalibrationSpan(world: readonly (readonly [number, number])[]): void {
    let span = 0;
    for (const a of world) for (const b of world) span = Math.max(span, Math.hypot(a[0] - b[0], a[1] - b[1]));
    if (span >= 1 && span <= MAX_CALIBRATION_SPAN_M) return;
    this.calibrationWarned = true;
    this.warn(`calibration: its ground points are ${span < 1 ? 'all within 1 m of each other' : `${Math.round(span)} m apart`}, no road patch a camera calibrates: ${UNITS_HINT}`);
  }

  /** Told once: when most speeds measured are over the limit, every one is dropped without a word otherwise. */
  private noteSpeedFit(tooFast: boolean, id: number): void {
    this.speedFits++;
    if (tooFast) {
      this.speedsTooFast++;
      if (this.tooFastTracks.size < TOO_FAST_TRACKS) this.tooFastTracks.add(id);
    }
    // Fits are per frame: a box jumping on one vehicle (an id swap) gives many; so several vehicles too.
    if (this.calibrationWarned || this.speedFits < IMPLAUSIBLE_AFTER || this.speedsTooFast * 2 <= this.speedFits || this.tooFastTracks.size < TOO_FAST_TRACKS) return;
    this.calibrationWarned = true;
    this.warn(`calibration: ${this.speedsTooFast} of the first ${this.speedFits} speeds measured were over ${this.speedCfg.maxKmh} km/h and left out: ${UNITS_HINT}`);
  }

  counts(): SourceCounts {
    const moves = this.cfg.movements;
    const intervals = [...this.buckets.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([start, counts]) => ({
        start,
        counts: cloneCounts(counts),
        coveredSeconds: coveredSeconds(this.covered.get(start) ?? 0),
        ...(moves ? { movements: structuredClone(this.moved.get(start) ?? {}) } : {}),
      }));
    const counts: SourceCounts = { source: this.cfg.source, intervalMs: this.intervalMs, total: cloneCounts(this.total), intervals };
    if (moves) counts.movements = structuredClone(this.movedTotal);
    if (this.zones.length) counts.occupancy = this.occupancy();
    if (this.cfg.clock === 'media' && Number.isFinite(this.lastT)) counts.asOf = this.lastT;
    return counts;
  }

  overlay(): SourceOverlay {
    return {
      lines: (this.cfg.lines ?? []).map((l) => ({ name: l.name, points: [[l.points[0][0], l.points[0][1]], [l.points[1][0], l.points[1][1]]] })),
      zones: (this.cfg.zones ?? []).map((z) => ({ name: z.name, polygon: z.polygon.map((p) => [p[0], p[1]] as [number, number]) })),
    };
  }

  /** Confirmed tracks currently in each zone (lost-but-not-yet-dropped ones included), per class. */
  occupancy(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const z of this.zones) out[z.name] = {};
    for (const t of this.tracker.all()) {
      const info = this.info.get(t.id);
      if (!info || !t.confirmed) continue;
      const cls = this.className(t.classId);
      for (let z = 0; z < this.zones.length; z++) {
        // By the class it entered as, as its zone-enter and zone-exit say: the two views agree mid-stay.
        const as = info.enteredClass[z] ?? cls;
        if (info.zoneState[z].inside) out[this.zones[z].name][as] = (out[this.zones[z].name][as] ?? 0) + 1;
      }
    }
    return out;
  }

  private newInfo(): TrackInfo {
    return {
      lineState: this.lines.map(() => newLineSideState()),
      counted: new Uint8Array(this.lines.length),
      zoneState: this.zones.map(() => ({ inside: false, pending: 0 })),
      enteredT: this.zones.map(() => 0),
      enteredClass: this.zones.map(() => undefined),
      speedT: -Infinity,
      measuredT: -Infinity,
      pending: [],
      speed: this.homography ? new SpeedEstimator(this.speedCfg) : undefined,
      firstLine: -1,
      firstCrossT: 0,
      lastCrossT: 0,
      lastLine: -1,
      lastCrossMs: 0,
      lastCrossAt: 0,
      lastSeenMs: 0,
      lastSeenT: 0,
      lastSeenAt: 0,
    };
  }

  private exitEvent(z: number, trackId: number, className: string, ptsMs: number, tMs: number, at: number, info: TrackInfo): TrafficEvent & { type: 'zone-exit' } {
    const dwellMs = Math.max(0, Math.round(tMs - info.enteredT[z]));
    return { type: 'zone-exit', source: this.cfg.source, ptsMs, at, zone: this.zones[z].name, trackId, className: info.enteredClass[z] ?? className, dwellMs };
  }

  /**
   * An ended confirmed track's movement, if it has one: in by the first line it crossed, out by the last, as the
   * class its detections voted for over its whole life. Back over the line it came in by (a U-turn, a vehicle
   * that reversed) is no movement, nor is one line alone.
   */
  private pushMovement(t: TrackedObject, info: TrackInfo, out: TrafficEvent[], toldAt: number): void {
    if (!this.cfg.movements || info.firstLine < 0 || info.firstLine === info.lastLine) return;
    // Two lines crossed at one instant are one place in the road (two lines drawn over each other), not a way through it.
    if (info.firstCrossT === info.lastCrossT) return;
    // A pedestrian crossing two approaches' lines is a crosswalk count, not a vehicle's turn: a study adding the
    // from→to rows up would count people as traffic. (Cyclists are vehicles here.)
    if (this.isPerson(t.classId)) return;
    const cls = this.className(t.classId);
    const e = { type: 'movement', source: this.cfg.source, ptsMs: info.lastCrossMs, at: info.lastCrossAt, from: this.lines[info.firstLine].name, to: this.lines[info.lastLine].name, trackId: t.id, className: cls } as const;
    out.push(e);
    this.countMovement(e, toldAt);
  }

  private countMovement(e: { from: string; to: string; className: string; at: number }, toldAt: number): void {
    const endOfItsInterval = (Math.floor(e.at / this.intervalMs) + 1) * this.intervalMs;
    const at = toldAt > endOfItsInterval + MOVEMENT_LATE_MS ? toldAt : e.at;
    this.bucket(at);
    const start = Math.floor(at / this.intervalMs) * this.intervalMs;
    // Only where its interval is still kept: one dated before the oldest kept is in the total alone.
    if (this.buckets.has(start)) {
      let c = this.moved.get(start);
      if (!c) this.moved.set(start, (c = {}));
      bumpMovement(c, e.from, e.to, e.className);
    }
    bumpMovement(this.movedTotal, e.from, e.to, e.className);
  }

  /** Reports events held while the track was tentative, now with the track's current class. */
  private flush(info: TrackInfo, t: TrackedObject, out: TrafficEvent[]): void {
    if (info.pending.length === 0) return;
    const cls = this.className(t.classId);
    for (const p of info.pending) {
      const e = p.event;
      if (e.type === 'line-crossing') e.className = cls;
      else if (e.type === 'zone-enter' && p.zone !== undefined) e.className = info.enteredClass[p.zone] = cls;
      else if (e.type === 'zone-exit' && p.zone !== undefined) {
        e.className = info.enteredClass[p.zone] ?? cls;
        info.enteredClass[p.zone] = undefined;
      }
      if (p.line !== undefined && p.direction && e.type === 'line-crossing') this.addCount(this.lines[p.line].name, p.direction, cls, e.at);
      out.push(e);
    }
    info.pending.length = 0;
  }

  private addCount(line: string, dir: 'forward' | 'backward', cls: string, at: number): void {
    const bump = (c: LineCounts) => {
      const d = (c[line] ??= { forward: {}, backward: {} })[dir];
      d[cls] = (d[cls] ?? 0) + 1;
    };
    bump(this.total);
    bump(this.bucket(at));
  }

  /**
   * The interval of time `at`, made (empty) on first use. Every analysed frame makes its own: an interval
   * with frames and no crossing is counted, 0 (a counts CSV writes zero rows for it), while one without
   * frames (a camera down throughout), or with only frames the detector failed on, has no bucket, so "no
   * traffic" and "not counted" stay apart.
   */
  private bucket(at: number): LineCounts {
    const start = Math.floor(at / this.intervalMs) * this.intervalMs;
    let bucket = this.buckets.get(start);
    if (!bucket) {
      this.buckets.set(start, (bucket = this.emptyCounts()));
      while (this.buckets.size > this.maxIntervals) {
        const oldest = Math.min(...this.buckets.keys());
        this.buckets.delete(oldest);
        this.moved.delete(oldest);
        this.covered.delete(oldest);
      }
    }
    return bucket;
  }

  private observeSpeed(t: TrackedObject, info: TrackInfo, tMs: number, width: number, height: number): void {
    if (!this.homography || !info.speed || !this.calibQuad) return;
    // The measured box, not the filtered one: a least-squares fit of raw positions is unbiased,
    // while a young Kalman track still drags its zero initial velocity.
    const b = t.detBox;
    // A box cut off by the picture's bottom or sides (a vehicle entering or leaving) has its anchor on
    // the edge, not under the wheels: read 30-60 % low on a calibration that reached past the picture.
    // Such a frame adds nothing; the speed measured so far stands. A detector's box of a cut-off vehicle
    // often ends short of the edge (half of them, by up to 17 px in 1280: 2 px per pixel of a 640-wide
    // model), so "at the edge" is within 2.5 % of the picture's larger side: speeds from boxes 2–20 px
    // from it were 10 % off or more in half the frames, none from boxes farther in.
    const edge = Math.max(1, EDGE_FRACTION * Math.max(width, height));
    const cutOff = b[0] <= edge || b[2] >= width - edge || b[3] >= height - edge;
    const x = (b[0] + b[2]) / 2;
    const y = b[3];
    // Only where the calibration holds: inside the calibrated quad of the road.
    if (cutOff || !pointInPolygon(x, y, this.calibQuad) || !this.homography.apply(x, y, this.ground)) {
      // Briefly: a vehicle standing at the edge kept the speed it came with for as long as it stood there.
      if (tMs - info.speedT > SPEED_HOLD_MS) info.speedKmh = undefined;
      return;
    }
    info.speed.add(tMs, this.ground[0], this.ground[1]);
    info.speedT = tMs;
    info.speedKmh = info.speed.estimate();
    if (info.speedKmh !== undefined) {
      info.measuredKmh = info.speedKmh;
      info.measuredT = tMs;
    }
    if (info.speedKmh !== undefined || info.speed.tooFast) this.noteSpeedFit(info.speed.tooFast, t.id);
  }

  /** Asked by the tracker of this update's detections, whose classes update() has just noted. */
  private isPerson(id: number): boolean {
    return this.personClasses.get(id) === true;
  }

  private className(id: number): string {
    return this.classNames.get(id) ?? (TRAFFIC_CLASSES as readonly string[])[id] ?? `class${id}`;
  }

  private emptyCounts(): LineCounts {
    const c: LineCounts = {};
    for (const l of this.lines) c[l.name] = { forward: {}, backward: {} };
    return c;
  }

  /**
   * Forward-only media time for the tracker, speeds and dwell times. Presentation times that jump back
   * (a reconnected stream restarting its clock) continue one frame period after the last. A repeated
   * one (a coarse clock: 15 fps stamped to 100 ms gives pairs of equal times) or a missing one is not a
   * restart: that frame is placed a frame period after the previous, without shifting the frames after
   * it, whose own times are right (shifting them slowed every speed by a third, at 15 fps).
   */
  private mediaTime(ptsMs: number): number {
    const raw = ptsMs + this.tOffset;
    let t: number;
    if (!Number.isFinite(raw) || raw === this.lastRaw) {
      t = Number.isFinite(this.lastT) ? this.lastT + this.lastDt : 0;
      this.framesSinceRaw++;
    } else if (raw < this.lastRaw) {
      this.tOffset += this.lastT + this.lastDt - raw;
      t = this.lastT + this.lastDt;
      this.lastRaw = t;
      this.framesSinceRaw = 1;
    } else {
      if (Number.isFinite(this.lastRaw)) {
        // Averaged: with a coarse clock each step spans one or two frames (50 and 100 ms for 66.7).
        const period = Math.min((raw - this.lastRaw) / Math.max(1, this.framesSinceRaw), 1000);
        this.lastDt = this.periodSamples++ === 0 ? period : 0.8 * this.lastDt + 0.2 * period;
      }
      // Never at or before the frame placed last (a repeated time's guess may have run ahead).
      t = Number.isFinite(this.lastT) ? Math.max(raw, this.lastT + 1) : raw;
      this.lastRaw = raw;
      this.framesSinceRaw = 1;
    }
    this.lastT = t;
    return t;
  }
}

/**
 * The speed a crossing at `t` (tMs) carries: the last measured, unless that was over SPEED_HOLD_MS before it. A vehicle
 * measured up to the line and out of the calibrated area just after it (before the crossing was certain) keeps its speed.
 */
function speedAt(info: TrackInfo, t: number): number | undefined {
  return t - info.measuredT <= SPEED_HOLD_MS ? info.measuredKmh : undefined;
}

const UNITS_HINT = 'are its world points (--calibration E,N; calibration.world in a pipeline file) in metres? Centimetres give speeds 100 times too high, dropped as implausible';

/** By the crossings' own times: two lines made certain in one frame (a fast vehicle at a low rate) keep their order. */
function noteCrossing(info: TrackInfo, line: number, t: number, ptsMs: number, at: number): void {
  if (info.firstLine < 0 || t < info.firstCrossT) {
    info.firstLine = line;
    info.firstCrossT = t;
  }
  if (info.lastLine < 0 || t >= info.lastCrossT) {
    info.lastLine = line;
    info.lastCrossT = t;
    info.lastCrossMs = ptsMs;
    info.lastCrossAt = at;
  }
}

function cloneCounts(c: LineCounts): LineCounts {
  const out: LineCounts = {};
  for (const [k, v] of Object.entries(c)) out[k] = { forward: { ...v.forward }, backward: { ...v.backward } };
  return out;
}

/** A box within this fraction of the picture's larger side of its left, right or bottom edge is cut off by it. */
const EDGE_FRACTION = 0.025;

/** To the microsecond, as frame times are: an interpolated instant carries no false digits. */
function roundMicro(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
