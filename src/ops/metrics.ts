import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PipelineFeed, SourceEvents, SourceStatus } from '../core/feed.js';
import type { WebhookStats } from './webhook-sink.js';
import { TRAFFIC_EVENT_TYPES, type FrameResult } from '../core/types.js';

/** Gauges the pipeline cannot see itself (the pool's queue, the dashboard's sockets). */
export interface MetricProbes {
  workerQueueDepth?: () => number;
  websocketClients?: () => number;
  /** Each webhook's delivery figures (its URL without credentials or query). */
  webhooks?: () => ({ url: string } & WebhookStats)[];
  /** Lines each output file has dropped because it could not be written. */
  outputLinesLost?: () => { file: string; lines: number }[];
  /** Lines each output file holds, to write once it can be written again. */
  outputLinesHeld?: () => { file: string; lines: number }[];
}

export interface PipelineMetrics {
  readonly registry: Registry;
  /** Node http handler serving Prometheus text. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  render(): Promise<string>;
  close(): void;
}

const latencyBuckets = [0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 2, 5];
const detectorBuckets = [0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.1, 0.2, 0.5, 1];

/**
 * Prometheus metrics for a running pipeline, in a registry of its own (so tests and several
 * pipelines in one process do not collide). Per-frame work is two histogram observations and a
 * counter increment; per-source state is read from the feed at scrape time.
 */
export function createPipelineMetrics(feed: PipelineFeed, probes: MetricProbes = {}): PipelineMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

  const byScrape = <T extends string>(
    name: string,
    help: string,
    read: (s: SourceStatus) => number,
    kind: 'gauge' | 'counter',
    labels: T[] = ['source' as T],
    applies: (s: SourceStatus) => boolean = () => true,
  ) => {
    const collect = function (this: Gauge<string> | Counter<string>) {
      this.reset();
      for (const s of feed.sources()) {
        if (!applies(s)) continue;
        const v = read(s);
        if (kind === 'gauge') (this as Gauge<string>).set({ source: s.name }, v);
        else (this as Counter<string>).inc({ source: s.name }, v);
      }
    };
    return kind === 'gauge'
      ? new Gauge({ name, help, labelNames: labels, registers: [registry], collect })
      : new Counter({ name, help, labelNames: labels, registers: [registry], collect });
  };

  byScrape(
    'xnorcam_source_decoded_fps',
    "Frames per second decoded from the source and handed to the pipeline, after fpsCap (the camera's own rate: xnorcam_source_stream_fps)",
    (s) => s.decodedFps,
    'gauge',
  );
  byScrape('xnorcam_source_stream_fps', "The camera's own frame rate, as its stream declares it, before fpsCap", (s) => s.streamFps ?? 0, 'gauge', undefined, (s) => s.streamFps !== undefined);
  byScrape('xnorcam_source_detected_fps', 'Frames per second that went through the detector', (s) => s.detectedFps, 'gauge');
  byScrape('xnorcam_source_up', '1 while the source delivers frames, else 0', (s) => (s.state === 'running' ? 1 : 0), 'gauge');
  byScrape('xnorcam_source_skipped_frames_total', 'Frames dropped by the live policy (latest frame wins)', (s) => s.droppedFrames, 'counter');
  // Only sources it is measured for (live network cameras): a 0 for a file would read as "on time".
  const measured = (s: SourceStatus) => s.behindMs !== undefined;
  byScrape('xnorcam_source_behind_seconds', 'Seconds a live network source is behind its camera (decoding slower than it sends; resynced past the bound)', (s) => (s.behindMs ?? 0) / 1000, 'gauge', undefined, measured);
  byScrape('xnorcam_source_resyncs_total', 'Times the source was restarted to catch up with its camera (not outages)', (s) => s.resyncs ?? 0, 'counter', undefined, measured);
  byScrape('xnorcam_source_reconnects_total', 'Times the source was restarted', (s) => s.reconnects, 'counter');
  byScrape('xnorcam_source_detect_failures_total', 'Frames whose detection failed (passed on with no detections)', (s) => s.detectFailures ?? 0, 'counter');
  byScrape(
    'xnorcam_source_seconds_since_last_frame',
    'Seconds since the source last delivered a frame, or since it was started when it has delivered none (watchdog input)',
    // A camera dead from the start counts up from its start, so an alert on this (> 60) fires for it too (it read -1).
    (s) => {
      // Monotonic where told: a step of the wall clock (NTP) is not seconds without a frame.
      if (s.lastFrameAgeMs !== undefined && s.lastFrameAgeMs !== null) return s.lastFrameAgeMs / 1000;
      const since = s.lastFrameAt ?? s.startedAt;
      return since === null || since === undefined ? -1 : (Date.now() - since) / 1000;
    },
    'gauge',
  );

  // Counts and occupancy as the dashboard shows them, read at scrape time.
  new Counter({
    name: 'xnorcam_line_crossings_total',
    help: 'Vehicles and people counted crossing a line, by direction and class',
    labelNames: ['source', 'line', 'direction', 'class'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of feed.sources()) {
        for (const [line, dirs] of Object.entries(feed.counts(s.name)?.total ?? {})) {
          for (const direction of ['forward', 'backward'] as const) {
            for (const [cls, n] of Object.entries(dirs[direction])) this.inc({ source: s.name, line, direction, class: cls }, n);
          }
        }
      }
    },
  });
  // Every class once seen in a zone stays a series, at 0 when none is there: a graph shows the zone
  // emptying, not a gap.
  const seenInZone = new Map<string, Set<string>>();
  new Gauge({
    name: 'xnorcam_zone_occupancy',
    help: 'Confirmed tracks in a zone now, by class',
    labelNames: ['source', 'zone', 'class'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of feed.sources()) {
        for (const [zone, byClass] of Object.entries(feed.counts(s.name)?.occupancy ?? {})) {
          const key = JSON.stringify([s.name, zone]);
          const seen = seenInZone.get(key) ?? new Set<string>();
          seenInZone.set(key, seen);
          for (const cls of Object.keys(byClass)) seen.add(cls);
          for (const cls of seen) this.set({ source: s.name, zone, class: cls }, byClass[cls] ?? 0);
        }
      }
    },
  });

  const framesDetected = new Counter({ name: 'xnorcam_frames_detected_total', help: 'Frames processed by the detector', labelNames: ['source'], registers: [registry] });
  const events = new Counter({ name: 'xnorcam_events_total', help: 'Traffic events emitted', labelNames: ['source', 'type'], registers: [registry] });
  const latency = new Histogram({ name: 'xnorcam_detection_latency_seconds', help: 'Capture to detections latency', labelNames: ['source'], buckets: latencyBuckets, registers: [registry] });
  const detectorTime = new Histogram({ name: 'xnorcam_detector_seconds', help: 'Detector time per frame', buckets: detectorBuckets, registers: [registry] });

  // The pipeline knows its own queue; a probe given by the caller wins (tests, other feeds).
  const ownDepth = (feed as Partial<{ queueDepth(): number }>).queueDepth;
  const queueDepth = probes.workerQueueDepth ?? (typeof ownDepth === 'function' ? () => ownDepth.call(feed) : undefined);
  new Counter({
    name: 'xnorcam_webhook_events_total',
    help: 'Events per webhook by outcome: sent, failed (refused or given up after retries), dropped (queue full, or queued or unanswered at shutdown)',
    labelNames: ['webhook', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of probes.webhooks?.() ?? []) for (const outcome of ['sent', 'failed', 'dropped'] as const) this.inc({ webhook: w.url, outcome }, w[outcome]);
    },
  });
  new Gauge({
    name: 'xnorcam_webhook_queue',
    help: 'Events waiting for a webhook',
    labelNames: ['webhook'],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of probes.webhooks?.() ?? []) this.set({ webhook: w.url }, w.queued);
    },
  });
  new Counter({
    name: 'xnorcam_output_lines_lost_total',
    help: 'Lines an output file (events.jsonl, <source>.counts.csv, <source>.detections.jsonl) dropped because it could not be written (disk full, folder read-only)',
    labelNames: ['file'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of probes.outputLinesLost?.() ?? []) this.inc({ file: f.file }, f.lines);
    },
  });
  new Gauge({
    name: 'xnorcam_output_lines_held',
    help: 'Lines a counts or movements CSV holds because it cannot be written now (disk full), to write in order once it can',
    labelNames: ['file'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of probes.outputLinesHeld?.() ?? []) this.set({ file: f.file }, f.lines);
    },
  });
  new Gauge({
    name: 'xnorcam_worker_queue_depth',
    help: 'Frames waiting for a detector worker',
    registers: [registry],
    collect() {
      this.set(queueDepth?.() ?? 0);
    },
  });
  new Gauge({
    name: 'xnorcam_websocket_clients',
    help: 'Connected dashboard clients',
    registers: [registry],
    collect() {
      this.set(probes.websocketClients?.() ?? 0);
    },
  });

  const onResult = (r: FrameResult) => {
    const source = r.frame.source;
    framesDetected.inc({ source });
    latency.observe({ source }, Math.max(0, (r.detectedAt - r.frame.capturedAt) / 1000));
    detectorTime.observe(r.detectMs / 1000);
    for (const e of r.events) events.inc({ source, type: e.type });
  };
  const onEvents = (e: SourceEvents) => {
    for (const ev of e.events) events.inc({ source: e.source, type: ev.type });
  };
  // A source a reload removed is no series any more: days of edits must not pile them up.
  const onRemoved = ({ source }: { source: string }) => {
    framesDetected.remove({ source });
    latency.remove({ source });
    for (const type of TRAFFIC_EVENT_TYPES) events.remove({ source, type });
    for (const key of [...seenInZone.keys()]) if ((JSON.parse(key) as string[])[0] === source) seenInZone.delete(key);
  };
  feed.on('result', onResult);
  feed.on('events', onEvents);
  feed.on('removed', onRemoved);

  return {
    registry,
    render: () => registry.metrics(),
    handle(_req, res) {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics error: ${err.message}\n`);
        },
      );
    },
    close() {
      feed.off('result', onResult as (...args: never[]) => void);
      feed.off('events', onEvents as (...args: never[]) => void);
      feed.off('removed', onRemoved as (...args: never[]) => void);
      registry.clear();
    },
  };
}
