import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { loadDetector } from '../detect/detector.js';
import type { ModelRef } from './model-ref.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';
import { cardOperatingThreshold } from '../engine/model-card.js';

/**
 * One detector per thread (detectors own preallocated tensors and are not reentrant). Frames arrive
 * as (buffer id, slot) pointing into SharedArrayBuffers the main thread filled: nothing is copied.
 */
const port = parentPort!;
const { model, backend, precision, threadsPerFrame } = workerData as {
  model: ModelRef;
  backend?: string;
  precision?: 'exact' | 'fast';
  threadsPerFrame?: number;
};

try {
  const detector = await loadDetector(model, {
    ...(backend ? { backend } : {}),
    ...(precision ? { precision } : {}),
    ...(threadsPerFrame ? { threads: threadsPerFrame } : {}),
  });
  const views = new Map<number, Uint8Array[]>();
  port.on('message', (msg: WorkerRequest) => {
    if (msg.type === 'buffer') {
      views.set(
        msg.id,
        Array.from({ length: msg.capacity }, (_, i) => new Uint8Array(msg.buffer, i * msg.frameBytes, msg.frameBytes)),
      );
      return;
    }
    if (msg.type === 'forget') {
      views.delete(msg.id);
      return;
    }
    const t0 = performance.now();
    let reply: WorkerReply;
    try {
      const detections = detector.detectRgb(views.get(msg.buffer)![msg.slot], msg.width, msg.height, msg.opts);
      reply = { type: 'result', job: msg.job, detections, detectMs: performance.now() - t0 };
    } catch (e) {
      reply = { type: 'result', job: msg.job, detections: [], detectMs: performance.now() - t0, error: (e as Error).message };
    }
    port.postMessage(reply);
  });
  const ready: WorkerReply = {
    type: 'ready',
    inputWidth: detector.inputWidth,
    inputHeight: detector.inputHeight,
    classNames: [...detector.classNames],
    letterbox: detector.model.spec.net.letterbox,
    backend: detector.backend,
    precision: detector.precision,
    threadsPerFrame: detector.threadsPerFrame,
    operatingThresh: cardOperatingThreshold(detector.model),
  };
  port.postMessage(ready);
} catch (e) {
  const err = e as Error & { name?: string };
  const reply: WorkerReply = { type: 'failed', message: err.message, userError: err.name === 'UserError' };
  port.postMessage(reply);
}
