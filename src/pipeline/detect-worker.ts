import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { ObjectDetector } from '../detect/types.js';
import type { ModelRef } from './model-ref.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

/**
 * One detector per thread (detectors own preallocated tensors and are not reentrant). Frames arrive
 * as (buffer id, slot) pointing into SharedArrayBuffers the main thread filled: nothing is copied.
 */
const port = parentPort!;
const { model, backend, precision } = workerData as { model: ModelRef; backend?: string; precision?: 'exact' | 'fast' };

try {
  // Resolved at run time so the pipeline builds while the detector module is developed alongside.
  const detectorModule = '../detect/detector.js';
  const { loadDetector } = (await import(detectorModule)) as {
    loadDetector(m: ModelRef, o?: { backend?: string; precision?: 'exact' | 'fast' }): Promise<ObjectDetector & { precision?: 'exact' | 'fast' }>;
  };
  const detector = await loadDetector(model, { ...(backend ? { backend } : {}), ...(precision ? { precision } : {}) });
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
    backend: detector.backend,
    precision: detector.precision,
  };
  port.postMessage(ready);
} catch (e) {
  const err = e as Error & { name?: string };
  const reply: WorkerReply = { type: 'failed', message: err.message, userError: err.name === 'UserError' };
  port.postMessage(reply);
}
