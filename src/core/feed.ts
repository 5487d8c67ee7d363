import type { FrameInfo, FrameResult, LineCounts, MovementCounts, TrafficEvent } from './types.js';

/** State of one source as the dashboard, REST API and metrics show it. */
export interface SourceStatus {
  name: string;
  url: string;
  state: 'starting' | 'running' | 'reconnecting' | 'stopped' | 'failed' | 'finished';
  /**
   * Frames per second decoded from the source and handed to the pipeline (after `fpsCap`: a 60 fps camera
   * capped at 10 reads 10), and detected (after live-mode dropping).
   */
  decodedFps: number;
  detectedFps: number;
  /** Capture → detections latency, ms (p50 over the last few seconds). */
  latencyMs: number;
  droppedFrames: number;
  reconnects: number;
  /** The camera's own frame rate, as its stream declares it (ffmpeg's header), before any fpsCap; absent if it declares none. */
  streamFps?: number;
  /**
   * How far behind its camera a live network source is, ms (wall time minus camera time since the stream's
   * reference): decoding slower than the camera sends. Absent where not measured (files, devices, batch).
   */
  behindMs?: number;
  /** Times its ffmpeg was restarted to catch up with the camera (behindMs past its bound); not outages. */
  resyncs?: number;
  /** When its last frame arrived (epoch ms), for people: how long ago is lastFrameAgeMs. */
  lastFrameAt: number | null;
  /**
   * Ms from its last frame to when this status was made, on the monotonic clock (null before the first): what
   * /healthz judges, as lastFrameAt is of the wall clock, which a step (NTP, by hand) moves by hours.
   */
  lastFrameAgeMs?: number | null;
  width: number;
  height: number;
  lastError?: string;
  /** false: no dashboard video is made for it (run --no-video, outputs.dashboard.video: false). */
  video?: false;
  /** Model this source is detected with: file name @ first 8 hex of its content hash. */
  model?: string;
  /** This source's own frame watchdog, ms (watchdogSeconds); unset = the consumer's default. */
  watchdogMs?: number;
  /** When this source, in its current configuration, was started (epoch ms): a reload's new source is judged from then. */
  startedAt?: number;
  /**
   * Since when its model has had no detector thread (epoch ms; null while it has one): every thread dead
   * and unable to restart (its model file gone), frames arrive and nothing detects them, /healthz says so.
   */
  detectorDownSince?: number | null;
  /** Frames whose detection failed (each passed on with no detections), since the source was set up. */
  detectFailures?: number;
  /** Since when every detection of it has failed (epoch ms), or null: /healthz says so after its watchdog. */
  detectFailingSince?: number | null;
  lastDetectError?: string;
}

/** A display image for the dashboard, matching FrameResult by (source, seq); width × height is the
 *  source frame's size (boxes are in that space), not necessarily the JPEG's. */
export interface DisplayFrame extends FrameInfo {
  jpeg: Buffer;
}

/** Geometry the dashboard draws on top of the video, in source pixels. */
export interface SourceOverlay {
  lines: { name: string; points: [[number, number], [number, number]] }[];
  zones: { name: string; polygon: [number, number][] }[];
}

/** Counts of one source: totals and per interval (e.g. per minute), per line/direction/class. */
export interface SourceCounts {
  source: string;
  intervalMs: number;
  total: LineCounts;
  /**
   * Oldest first; each bucket starts at `start`: epoch ms, or ms of video time when `asOf` is set. Every
   * interval a frame was analysed in has one (empty when nothing crossed); one without frames has none.
   */
  intervals: {
    start: number;
    counts: LineCounts;
    movements?: MovementCounts;
    /**
     * Seconds of the interval that had video counted (IntervalCoverage: frames, and the short gaps between them):
     * under the interval's length where the camera was down, stalled or started within it. Absent where unknown
     * (an interval carried from a file of a version that did not write it).
     */
    coveredSeconds?: number;
  }[];
  /**
   * A source with `movements: true`: its turning movements in total (each interval's are its `movements`, {}
   * when none), by the interval of their last crossing, or of when they were told if that was well after it.
   */
  movements?: MovementCounts;
  /** Per zone, the confirmed tracks in it now, per class (zones without any: {}); absent without zones. */
  occupancy?: Record<string, Record<string, number>>;
  /** The classes it detects and counts (as reported), whose zero counts a counts CSV writes too. */
  classes?: string[];
  /** Epoch ms since when `total` counts: when this run started the source (a restart starts it from 0). */
  since?: number;
  /**
   * Counts dated by video time (a file in batch mode: ms from the start of the recording): the video
   * time of the last frame analysed. Absent for counts dated by arrival, whose clock is the wall clock.
   */
  asOf?: number;
}

/**
 * Events of a source not tied to a frame: source-up/down when they happen (a stalled camera delivers
 * no frame to carry them), and, as it ends, the zone exits of vehicles still inside.
 */
export interface SourceEvents {
  source: string;
  events: TrafficEvent[];
}

/**
 * What a running pipeline offers to its consumers (dashboard server, metrics, event sinks).
 * The pipeline implements it; consumers never reach into the pipeline otherwise.
 */
export interface PipelineFeed {
  on(event: 'result', listener: (r: FrameResult) => void): this;
  on(event: 'display', listener: (d: DisplayFrame) => void): this;
  on(event: 'status', listener: (s: SourceStatus) => void): this;
  /** A source stopped for good (a reload removed it), with what it counted: its open interval included. */
  on(event: 'removed', listener: (r: { source: string; counts?: SourceCounts }) => void): this;
  /** Events not tied to a frame (SourceEvents); a source's last ones before its final 'status' and 'removed'. */
  on(event: 'events', listener: (e: SourceEvents) => void): this;
  /** A source ended (a file played to its end, a stop, a failure): after its last result and events. */
  on(event: 'source-end', listener: (e: { source: string }) => void): this;
  off(event: 'result' | 'display' | 'status' | 'removed' | 'events' | 'source-end', listener: (...args: never[]) => void): this;
  sources(): SourceStatus[];
  overlay(source: string): SourceOverlay;
  counts(source: string): SourceCounts | undefined;
  /**
   * Counts a source had before this run (an interval a restart interrupted, read back from its counts CSV),
   * taken into its intervals, not its total; false for a source it does not have.
   */
  carryCounts?(source: string, counts: SourceCounts): boolean;
  /** How long the source's tracker keeps a lost track, ms (its movements are told when it ends). */
  lostTrackMs?(source: string): number | undefined;
}
