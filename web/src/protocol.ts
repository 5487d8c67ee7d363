/**
 * The browser's side of the dashboard protocol (version 1). The server's side is
 * src/server/protocol.ts; the types here mirror src/core/types.ts and src/core/feed.ts, kept apart
 * because the page compiles on its own, without Node's types.
 */
export type Box = [number, number, number, number];

export interface Detection { classId: number; className: string; score: number; box: Box }
export interface Track {
  id: number; classId: number; className: string; score: number; box: Box;
  velocity: [number, number]; speedKmh?: number; confirmed: boolean; ageMs: number;
}
export interface TrafficEvent { type: string; source: string; at: number; line?: string; zone?: string; direction?: 'forward' | 'backward'; trackId?: number; className?: string }
export type LineCounts = Record<string, { forward: Record<string, number>; backward: Record<string, number> }>;
export interface SourceCounts { source: string; intervalMs: number; total: LineCounts; intervals: { start: number; counts: LineCounts }[] }
export interface SourceOverlay {
  lines: { name: string; points: [[number, number], [number, number]] }[];
  zones: { name: string; polygon: [number, number][] }[];
}
export interface SourceInfo {
  name: string; url: string; state: string; decodedFps: number; detectedFps: number; latencyMs: number;
  droppedFrames: number; reconnects: number; lastFrameAt: number | null; width: number; height: number;
  lastError?: string;
  /** Model the source is detected with: file name @ first 8 hex of its content hash. */
  model?: string;
  overlay: SourceOverlay;
}

export interface FrameHeader {
  source: string; seq: number; ptsMs: number; capturedAt: number;
  width: number; height: number; sourceWidth: number; sourceHeight: number; sentAt: number;
  result: { detections: Detection[]; tracks: Track[]; events: TrafficEvent[]; detectedAt: number; detectMs: number } | null;
}

export type ServerMessage =
  | { type: 'hello'; version: number; serverTime: number; sources: SourceInfo[] }
  | { type: 'sources'; serverTime: number; sources: SourceInfo[]; droppedForClient: Record<string, number> }
  | { type: 'subscribed'; sources: string[] | '*' }
  | { type: 'counts'; counts: SourceCounts }
  | { type: 'pong'; t: number; serverTime: number }
  | { type: 'error'; code: string; message: string };

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
