/**
 * The data types every stage passes on: ingest → detect → track → outputs/server.
 * Boxes are always [x1, y1, x2, y2] in source-image pixels unless a name says otherwise.
 */
export type Box = [x1: number, y1: number, x2: number, y2: number];

export interface Detection {
  classId: number;
  className: string;
  /** darknet's per-class probability: objectness × class probability. */
  score: number;
  box: Box;
}

/** Identity and timing that travel with a frame end to end, so latency and drops are measurable. */
export interface FrameInfo {
  source: string;
  /** 0-based index of the frame as decoded from this source (counts every decoded frame). */
  seq: number;
  /** Presentation time within the source, milliseconds. */
  ptsMs: number;
  /** Wall-clock time (Date.now()) when the frame arrived from ffmpeg. */
  capturedAt: number;
  /** Source frame size in pixels (boxes are in this space). */
  width: number;
  height: number;
}

export interface Track {
  id: number;
  classId: number;
  className: string;
  score: number;
  box: Box;
  /** Pixels per second in source space, from the Kalman filter. */
  velocity: [vx: number, vy: number];
  /** Smoothed ground speed in km/h when a calibration exists and the value is plausible. */
  speedKmh?: number;
  /** Confirmed tracks are the ones counted and shown; tentative ones are not yet. */
  confirmed: boolean;
  ageMs: number;
}

export type TrafficEvent =
  | { type: 'line-crossing'; source: string; ptsMs: number; at: number; line: string; direction: 'forward' | 'backward'; trackId: number; className: string; speedKmh?: number }
  | { type: 'zone-enter'; source: string; ptsMs: number; at: number; zone: string; trackId: number; className: string }
  | {
      type: 'zone-exit';
      source: string;
      ptsMs: number;
      at: number;
      zone: string;
      trackId: number;
      className: string;
      dwellMs: number;
      /** Still in the zone when its source ended (a recording's end, a stop, a reload): dwellMs is up to its last sighting, a lower bound. */
      stillInside?: true;
    }
  /**
   * A turning movement (opt-in): the first line a track crossed and the last, when these differ. Told when the
   * track ends (or its source does), dated at that last crossing.
   */
  | { type: 'movement'; source: string; ptsMs: number; at: number; from: string; to: string; trackId: number; className: string }
  /** `at`: epoch ms; for a source in batch mode (a recording), its time (the latest frame's ptsMs), and `wallClockAt` the epoch ms. */
  | { type: 'source-up'; source: string; at: number; wallClockAt?: number }
  | { type: 'source-down'; source: string; at: number; wallClockAt?: number; reason: string };

/** Every TrafficEvent type, for what lists them (webhook filters, metric series). */
export const TRAFFIC_EVENT_TYPES = ['line-crossing', 'zone-enter', 'zone-exit', 'movement', 'source-up', 'source-down'] as const satisfies readonly TrafficEvent['type'][];

/** Counts per line → direction → class. */
export type LineCounts = Record<string, { forward: Record<string, number>; backward: Record<string, number> }>;

/** Turning movements: vehicles per from-line → to-line → class. */
export type MovementCounts = Record<string, Record<string, Record<string, number>>>;

/** What the pipeline emits for each processed frame, to every output. */
export interface FrameResult {
  frame: FrameInfo;
  detections: Detection[];
  tracks: Track[];
  events: TrafficEvent[];
  /** Wall-clock time when detection finished. */
  detectedAt: number;
  /** Detector time for this frame, ms. */
  detectMs: number;
  /** The frame could not be detected (its detections are empty, not "no vehicles"): why. */
  detectError?: string;
}
