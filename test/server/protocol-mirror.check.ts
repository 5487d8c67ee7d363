/**
 * Compile-time check that the dashboard page's protocol types (web/src/protocol.ts, compiled on
 * its own, so a mirror) are exactly the server's. Type-checked by protocol-mirror.test.ts (and by
 * `tsc -p tsconfig.test.json`); a field added, removed, renamed, retyped or made optional on one
 * side only makes this file fail to compile.
 */
import type { Box, Detection, LineCounts, TrafficEvent, Track } from '../../src/core/types.js';
import type { SourceCounts, SourceOverlay } from '../../src/core/feed.js';
import type { ClientMessage, ErrorCode, FrameHeader, ServerMessage, SourceInfo } from '../../src/server/protocol.js';
import type * as Web from '../../web/src/protocol.js';

/** True only when A and B are the same type (not merely assignable either way). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

type Expect<T extends true> = T;

/** One member per mirrored type; a member whose page and server types differ fails to compile on its own line. */
export interface ProtocolMirror {
  Box: Expect<Same<Web.Box, Box>>;
  Detection: Expect<Same<Web.Detection, Detection>>;
  Track: Expect<Same<Web.Track, Track>>;
  TrafficEvent: Expect<Same<Web.TrafficEvent, TrafficEvent>>;
  LineCounts: Expect<Same<Web.LineCounts, LineCounts>>;
  SourceCounts: Expect<Same<Web.SourceCounts, SourceCounts>>;
  SourceOverlay: Expect<Same<Web.SourceOverlay, SourceOverlay>>;
  SourceInfo: Expect<Same<Web.SourceInfo, SourceInfo>>;
  FrameHeader: Expect<Same<Web.FrameHeader, FrameHeader>>;
  ErrorCode: Expect<Same<Web.ErrorCode, ErrorCode>>;
  ServerMessage: Expect<Same<Web.ServerMessage, ServerMessage>>;
  ClientMessage: Expect<Same<Web.ClientMessage, ClientMessage>>;
}
