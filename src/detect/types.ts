import type { Detection } from '../core/types.js';

export interface DetectOptions {
  /** Minimum objectness × class probability (darknet's -thresh). Default 0.25. */
  thresh?: number;
  /** Per-class NMS IoU threshold. Default 0.45. */
  nms?: number;
}

/**
 * A loaded model ready to detect. Implemented by src/detect/detector.ts on top of the engine.
 * One instance per thread: it owns preallocated tensors and is not reentrant.
 */
export interface ObjectDetector {
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly classNames: readonly string[];
  /** Kernel backend in use, e.g. 'wasm' or 'native-avx512'. */
  readonly backend: string;
  /**
   * rgb: interleaved RGB bytes (HWC) already resized to inputWidth × inputHeight (ffmpeg does this
   * in the pipeline). Boxes come back in source pixels: relative model coordinates × source size.
   */
  detectRgb(rgb: Uint8Array, sourceWidth: number, sourceHeight: number, opts?: DetectOptions): Detection[];
}
