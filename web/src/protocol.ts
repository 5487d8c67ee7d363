/**
 * The browser's side of the dashboard protocol (version 1). The server's side, and the source of
 * every type here, is src/server/protocol.ts (with src/core/types.ts and src/core/feed.ts). The page
 * compiles on its own (web/tsconfig.json: no bundler, no Node types, nothing outside web/src), so the
 * types are mirrored, not imported; test/server/protocol-mirror.test.ts type-checks them and fails when
 * a mirror differs from the server's type in any field, so change both together.
 */
export type Box = [x1: number, y1: number, x2: number, y2: number];

export interface Detection { classId: number; className: string; score: number; box: Box }
export interface Track {
  id: number; classId: number; className: string; score: number; box: Box;
  velocity: [vx: number, vy: number]; speedKmh?: number; confirmed: boolean; ageMs: number;
}
export type TrafficEvent =
  | { type: 'line-crossing'; source: string; ptsMs: number; at: number; line: string; direction: 'forward' | 'backward'; trackId: number; className: string; speedKmh?: number }
  | { type: 'zone-enter'; source: string; ptsMs: number; at: number; zone: string; trackId: number; className: string }
  | { type: 'zone-exit'; source: string; ptsMs: number; at: number; zone: string; trackId: number; className: string; dwellMs: number; stillInside?: true }
  | { type: 'movement'; source: string; ptsMs: number; at: number; from: string; to: string; trackId: number; className: string }
  /** `at`: epoch ms; for a source in batch mode (a recording), its time (the latest frame's ptsMs), and `wallClockAt` the epoch ms. */
  | { type: 'source-up'; source: string; at: number; wallClockAt?: number }
  | { type: 'source-down'; source: string; at: number; wallClockAt?: number; reason: string };
export type LineCounts = Record<string, { forward: Record<string, number>; backward: Record<string, number> }>;
/** Turning movements: from-line → to-line → class → vehicles. */
export type MovementCounts = Record<string, Record<string, Record<string, number>>>;
export interface SourceCounts {
  source: string; intervalMs: number; total: LineCounts;
  /** coveredSeconds: the seconds of the interval that had video (under intervalMs / 1000 where a camera was down in it). */
  intervals: { start: number; counts: LineCounts; movements?: MovementCounts; coveredSeconds?: number }[];
  /** Sources with movements: true: the run's turning movements in total. */
  movements?: MovementCounts;
  occupancy?: Record<string, Record<string, number>>;
  classes?: string[];
  since?: number;
  asOf?: number;
}
export interface SourceOverlay {
  lines: { name: string; points: [[number, number], [number, number]] }[];
  zones: { name: string; polygon: [number, number][] }[];
}
export interface SourceInfo {
  name: string; url: string; state: 'starting' | 'running' | 'reconnecting' | 'stopped' | 'failed' | 'finished';
  decodedFps: number; detectedFps: number; latencyMs: number;
  droppedFrames: number; reconnects: number; lastFrameAt: number | null; width: number; height: number;
  /** Ms from its last frame to this status, on the server's monotonic clock. */
  lastFrameAgeMs?: number | null;
  /** The camera's own frame rate as its stream declares it, before fpsCap (decodedFps is after it). */
  streamFps?: number;
  /** How far behind its camera a live network source is, ms; restarts to catch up (not outages). */
  behindMs?: number;
  resyncs?: number;
  lastError?: string;
  /** false: no dashboard video is made for it (run --no-video). */
  video?: false;
  /** Model the source is detected with: file name @ first 8 hex of its content hash. */
  model?: string;
  watchdogMs?: number;
  startedAt?: number;
  detectorDownSince?: number | null;
  detectFailures?: number;
  detectFailingSince?: number | null;
  lastDetectError?: string;
  overlay: SourceOverlay;
}

export interface FrameHeader {
  source: string; seq: number; ptsMs: number; capturedAt: number;
  width: number; height: number; sourceWidth: number; sourceHeight: number; sentAt: number;
  result: { detections: Detection[]; tracks: Track[]; events: TrafficEvent[]; detectedAt: number; detectMs: number; detectError?: string } | null;
}

export type ErrorCode = 'bad-json' | 'bad-message' | 'too-large' | 'binary-not-accepted' | 'unknown-source' | 'rate-limited';

export type ServerMessage =
  | { type: 'hello'; version: number; serverTime: number; sources: SourceInfo[] }
  | { type: 'sources'; serverTime: number; sources: SourceInfo[]; droppedForClient: Record<string, number> }
  | { type: 'subscribed'; sources: string[] | '*' }
  | { type: 'counts'; counts: SourceCounts }
  | { type: 'pong'; t: number; serverTime: number }
  | { type: 'error'; code: ErrorCode; message: string };

export type ClientMessage =
  | { type: 'subscribe'; sources: '*' | string[] }
  | { type: 'unsubscribe'; sources: string[] }
  | { type: 'ping'; t: number }
  | { type: 'ack'; frames: number };

const FRAME_MAGIC = 0x584e4631; // "XNF1"
const utf8 = new TextDecoder();

/** Splits a binary frame message into its JSON header and the JPEG bytes (no copy of the JPEG). */
export function decodeFrame(buf: ArrayBuffer): { header: FrameHeader; jpeg: Uint8Array } {
  const view = new DataView(buf);
  if (buf.byteLength < 8 || view.getUint32(0) !== FRAME_MAGIC) throw new Error('not an xnorcam frame');
  const n = view.getUint32(4);
  const header = JSON.parse(utf8.decode(new Uint8Array(buf, 8, n))) as FrameHeader;
  return { header, jpeg: new Uint8Array(buf, 8 + n) };
}
