import { z } from 'zod';
import type { DisplayFrame, SourceCounts, SourceOverlay, SourceStatus } from '../core/feed.js';
import type { FrameInfo, FrameResult } from '../core/types.js';

/**
 * The dashboard's WebSocket protocol (version 1). These types (with src/core/types.ts and feed.ts)
 * are the source; the page, which compiles on its own, mirrors them in web/src/protocol.ts, and
 * test/server/protocol-mirror.test.ts fails when a mirror differs in any field (the browser tests
 * exercise both ends at run time).
 *
 * Server → client, binary: one video frame with everything drawn on it, so boxes land on exactly
 * the frame they belong to:
 *   bytes 0..3  magic "XNF1"
 *   bytes 4..7  header length N (uint32, big-endian)
 *   bytes 8..8+N  header, UTF-8 JSON (FrameHeader)
 *   rest        the JPEG
 * Server → client, text: JSON ServerMessage. Client → server, text only: JSON ClientMessage.
 */
export const PROTOCOL_VERSION = 1;
export const FRAME_MAGIC = 0x584e4631; // "XNF1"

/** The largest client message the server parses; larger ones get an error reply and are ignored. */
export const MAX_CLIENT_MESSAGE_BYTES = 4096;
/** Past this the ws library closes the connection (1009) without reading the message into memory. */
export const HARD_MAX_CLIENT_PAYLOAD_BYTES = 64 * 1024;

const sourceName = z.string().min(1).max(128);

export const clientMessageSchema = z.discriminatedUnion('type', [
  /** Which sources this client wants frames for; '*' means all, now and later. Replaces the previous set. */
  z.object({ type: z.literal('subscribe'), sources: z.union([z.literal('*'), z.array(sourceName).max(256)]) }).strict(),
  z.object({ type: z.literal('unsubscribe'), sources: z.array(sourceName).max(256) }).strict(),
  /** Clock sync and liveness: the server answers with its own clock so the page can measure latency. */
  z.object({ type: z.literal('ping'), t: z.number().finite() }).strict(),
  /**
   * Binary frames received on this socket so far. A client that acknowledges has in flight only what
   * its link delivers (src/server/ack-window.ts): on a slow link it gets fewer frames, never older ones
   * (the socket's buffers, kernel's included, cannot fill with a minute of pictures). A client that
   * never acknowledges is paced by its send buffer alone.
   */
  z.object({ type: z.literal('ack'), frames: z.number().int().min(0) }).strict(),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

/** The frame's identity and timing (FrameInfo); width × height is the image size as the feed reports
 *  it (the page sizes its canvas from the JPEG itself); boxes are in source pixels (sourceWidth × sourceHeight). */
export interface FrameHeader extends FrameInfo {
  sourceWidth: number;
  sourceHeight: number;
  /** Server clock when the frame was sent. */
  sentAt: number;
  /** null when the detector produced nothing for this frame (detection off or not yet running). */
  result: Omit<FrameResult, 'frame'> | null;
}

export type ServerMessage =
  | { type: 'hello'; version: number; serverTime: number; sources: SourceInfo[] }
  /** Sent every second. droppedForClient: frames per source the server skipped for THIS client
   *  because its connection was not keeping up (the pipeline's own drops are in sources[]). */
  | { type: 'sources'; serverTime: number; sources: SourceInfo[]; droppedForClient: Record<string, number> }
  | { type: 'subscribed'; sources: string[] | '*' }
  | { type: 'counts'; counts: SourceCounts }
  | { type: 'pong'; t: number; serverTime: number }
  | { type: 'error'; code: ErrorCode; message: string };

export type ErrorCode = 'bad-json' | 'bad-message' | 'too-large' | 'binary-not-accepted' | 'unknown-source' | 'rate-limited';

export interface SourceInfo extends SourceStatus {
  overlay: SourceOverlay;
}

/** Builds the one binary message per frame; the same buffer goes to every subscribed client. */
export function encodeFrame(display: DisplayFrame, result: FrameResult | null, sentAt: number): Buffer {
  const header: FrameHeader = {
    source: display.source,
    seq: display.seq,
    ptsMs: display.ptsMs,
    capturedAt: display.capturedAt,
    width: display.width,
    height: display.height,
    sourceWidth: result?.frame.width ?? display.width,
    sourceHeight: result?.frame.height ?? display.height,
    sentAt,
    result: result
      ? { detections: result.detections, tracks: result.tracks, events: result.events, detectedAt: result.detectedAt, detectMs: result.detectMs }
      : null,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(8 + json.length + display.jpeg.length);
  out.writeUInt32BE(FRAME_MAGIC, 0);
  out.writeUInt32BE(json.length, 4);
  json.copy(out, 8);
  display.jpeg.copy(out, 8 + json.length);
  return out;
}

/** The inverse of encodeFrame, for tests and Node clients. */
export function decodeFrame(buf: Buffer): { header: FrameHeader; jpeg: Buffer } {
  if (buf.length < 8 || buf.readUInt32BE(0) !== FRAME_MAGIC) throw new Error('not an xnorcam frame message');
  const n = buf.readUInt32BE(4);
  if (8 + n > buf.length) throw new Error('truncated xnorcam frame message');
  return { header: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as FrameHeader, jpeg: buf.subarray(8 + n) };
}

export type ParsedClientMessage = { ok: true; message: ClientMessage } | { ok: false; code: ErrorCode; message: string };

/** Validates one client message; never throws. */
export function parseClientMessage(data: Buffer | string, isBinary: boolean): ParsedClientMessage {
  if (isBinary) return { ok: false, code: 'binary-not-accepted', message: 'binary messages are not accepted; send JSON text' };
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > MAX_CLIENT_MESSAGE_BYTES) {
    return { ok: false, code: 'too-large', message: `message of ${size} bytes exceeds the limit of ${MAX_CLIENT_MESSAGE_BYTES}` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    return { ok: false, code: 'bad-json', message: 'message is not valid JSON' };
  }
  const r = clientMessageSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') + ': ' : '';
    return { ok: false, code: 'bad-message', message: `invalid message: ${where}${issue?.message ?? 'unknown problem'}` };
  }
  return { ok: true, message: r.data };
}
