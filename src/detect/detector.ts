import type { Detection } from '../core/types.js';
import { UserError } from '../core/errors.js';
import type { KernelBackend } from '../engine/kernels/backend.js';
import type { Precision } from '../engine/kernels/precision.js';
import { createBackend } from '../engine/kernels/select.js';
import { loadModel, type ModelSource } from '../engine/load.js';
import { modelClasses, type Model } from '../engine/model.js';
import { Network, type NetworkOptions } from '../engine/runtime/network.js';
import { logger } from '../core/log.js';
import { collectCandidates, nmsSort, toDetections } from './decode.js';
import { prepareNetworkInput, rgbToPlanar, type RgbImage } from './preprocess.js';
import type { DetectOptions, ObjectDetector } from './types.js';

/** The engine behind ObjectDetector: one Network (preallocated tensors) on one kernel backend. */
export class EngineDetector implements ObjectDetector {
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly classNames: readonly string[];
  readonly backend: string;
  /** Float-layer numerics in use: 'fast' only when the backend reports it runs reduced precision. */
  readonly precision: Precision;
  readonly network: Network;
  private readonly classes: number;

  /** threadsPerFrame: the threads the backend splits each frame's layers over (loadDetector's `threads` where it can). */
  constructor(readonly model: Model, private readonly kernels: KernelBackend, opts: NetworkOptions = {}, readonly threadsPerFrame = 1) {
    // class scores are activated only where a detection can come from, unless layer outputs are kept for inspection
    this.network = new Network(model, kernels, { ...opts, lazyYoloClasses: opts.lazyYoloClasses ?? !opts.keepLayerOutputs });
    this.inputWidth = model.spec.net.width;
    this.inputHeight = model.spec.net.height;
    this.classNames = model.classNames;
    this.backend = kernels.name;
    this.precision = kernels.precision ?? 'exact';
    this.classes = modelClasses(model.spec);
    if (model.spec.net.channels !== 3) throw new UserError(`${model.spec.source}: the network takes ${model.spec.net.channels} input channels; detection needs 3 (RGB)`);
  }

  /**
   * rgb is already at network size (stretch-resized by the caller, e.g. ffmpeg), so no letterbox
   * correction applies even for letter_box=1 models.
   */
  detectRgb(rgb: Uint8Array, sourceWidth: number, sourceHeight: number, opts: DetectOptions = {}): Detection[] {
    const need = this.inputWidth * this.inputHeight * 3;
    if (rgb.length < need) throw new Error(`detectRgb: expected ${this.inputWidth}x${this.inputHeight} RGB (${need} bytes), got ${rgb.length} bytes`);
    rgbToPlanar(rgb, this.inputWidth, this.inputHeight, this.network.input);
    return this.run(sourceWidth, sourceHeight, false, opts);
  }

  /** A full-size decoded image, preprocessed as darknet's `detector test` (resize or letterbox). */
  detectImage(img: RgbImage, opts: DetectOptions = {}): Detection[] {
    const letterbox = this.model.spec.net.letterbox;
    prepareNetworkInput(img, this.inputWidth, this.inputHeight, letterbox, this.network.input);
    return this.run(img.width, img.height, letterbox, opts);
  }

  private run(width: number, height: number, letterboxed: boolean, opts: DetectOptions): Detection[] {
    const thresh = opts.thresh ?? 0.25;
    const nms = opts.nms ?? 0.45;
    this.network.forward(undefined, thresh);
    let dets = collectCandidates(this.network, thresh, width, height, letterboxed);
    if (nms > 0) dets = nmsSort(dets, this.classes, nms);
    return toDetections(dets, thresh, this.classNames, width, height);
  }

  dispose(): void {
    this.kernels.dispose?.();
  }
}

export interface LoadDetectorOptions extends NetworkOptions {
  /** Kernel backend name (default: XNORCAM_BACKEND or 'auto'). */
  backend?: string;
  /**
   * Intra-frame threads: each layer's work is split over this many threads (backend.setThreads),
   * for the lowest latency on one camera. Leave unset for the worker pool's one-frame-per-thread
   * mode (the backend's own default: 1, or XNORCAM_NATIVE_THREADS for native).
   */
  threads?: number;
  /**
   * Float-layer numerics (default: XNORCAM_PRECISION, else 'exact'): 'fast' = int8/FMA on AVX-512 VNNI
   * CPUs, FMA on AVX2 ones, detections within a measured tolerance of darknet (docs/kernels.md); backends or CPUs
   * without it warn once and run exact (see `EngineDetector.precision`).
   */
  precision?: Precision;
}

/** Loads a packed .xnor model (string) or a darknet cfg + weights (+ names) pair. */
export async function loadDetector(model: ModelSource, opts: LoadDetectorOptions = {}): Promise<EngineDetector> {
  const { threads } = opts;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 256))
    throw new UserError(`threads: expected a whole number from 1 to 256, got ${threads}`, 2);
  const m = loadModel(model);
  const kernels = await createBackend(opts.backend, { precision: opts.precision });
  let perFrame = 1;
  if (threads !== undefined) {
    if (kernels.setThreads) {
      kernels.setThreads(threads);
      perFrame = threads;
    } else if (threads > 1) logger.warn(`kernel backend ${kernels.name} has no intra-frame threading; running on one thread`);
  }
  try {
    return new EngineDetector(m, kernels, { keepLayerOutputs: opts.keepLayerOutputs }, perFrame);
  } catch (e) {
    if (e instanceof UserError) throw e;
    // Files the converter wrote always build; one that does not was edited or damaged past its checksum.
    const file = typeof model === 'string' ? model : model.cfg;
    throw new UserError(`${file}: its network cannot be built (${(e as Error).message}): a damaged or hand-edited model?`);
  }
}
