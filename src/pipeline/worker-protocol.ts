import type { Detection } from '../core/types.js';
import type { DetectOptions } from '../detect/types.js';

/** Messages between the pipeline and its detector threads. */
export type WorkerRequest =
  | { type: 'buffer'; id: number; buffer: SharedArrayBuffer; frameBytes: number; capacity: number }
  | { type: 'forget'; id: number }
  | { type: 'detect'; job: number; buffer: number; slot: number; width: number; height: number; opts: DetectOptions };

export type WorkerReply =
  | { type: 'ready'; inputWidth: number; inputHeight: number; classNames: string[]; letterbox: boolean; backend: string; precision?: 'exact' | 'fast'; operatingThresh?: number; threadsPerFrame: number }
  | { type: 'failed'; message: string; userError: boolean }
  | { type: 'result'; job: number; detections: Detection[]; detectMs: number; error?: string };
