import { z } from 'zod';
import { TRAFFIC_EVENT_TYPES } from '../core/types.js';
import { sourceUrlProblem } from '../ingest/source-spec.js';
import { KERNEL_BACKENDS } from '../engine/kernels/names.js';
import { allowedHostProblem } from '../server/host-check.js';
import { tokenProblem } from '../server/token-rule.js';
import { Homography } from '../track/homography.js';
import { crossingSides } from '../track/geometry.js';

export { crossingSides };

/**
 * The pipeline file schema (YAML). One schema is the single source of truth: runtime validation,
 * `xnorcam check`, and the JSON Schema shipped for editor completion (pipelines/pipeline.schema.json).
 * Coordinates are source pixels. Relative paths resolve against the pipeline file's folder.
 */
const point = z.tuple([z.number(), z.number()]).describe('[x, y] in source pixels');

/**
 * True when every point lies on one straight line (or on one spot): such a polygon has no inside.
 * Not a signed-area test, which would also refuse a figure-eight whose two halves cancel out.
 */
export function collinear(pts: readonly (readonly [number, number])[]): boolean {
  const [x0, y0] = pts[0];
  const other = pts.find(([x, y]) => x !== x0 || y !== y0);
  if (!other) return true;
  const [dx, dy] = [other[0] - x0, other[1] - y0];
  return pts.every(([x, y]) => dx * (y - y0) - dy * (x - x0) === 0);
}

export function crossingMessage([i, j]: [number, number]): string {
  return `its sides ${i} and ${j} cross: list the points in order around the zone`;
}

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a name of letters, digits, _ . - (up to 64 characters)');

export const lineSchema = z
  .object({
    name,
    points: z
      .tuple([point, point])
      .refine(([a, b]) => a[0] !== b[0] || a[1] !== b[1], 'the two points are the same: a line of zero length never counts')
      .describe('segment p0 → p1; "forward" is crossing from the left of p0→p1 to its right'),
  })
  .strict();

export const zoneSchema = z
  .object({
    name,
    polygon: z
      .array(point)
      .min(3, 'a zone needs at least 3 points')
      // Only a polygon with 3+ points has an area worth judging; fewer is the message above.
      .refine((pts) => pts.length < 3 || !collinear(pts), 'the points enclose no area (all on one line): a zone of zero area never holds anything')
      .superRefine((pts, ctx) => {
        const crossing = pts.length > 3 && !collinear(pts) ? crossingSides(pts) : null;
        if (crossing) ctx.addIssue({ code: 'custom', message: crossingMessage(crossing) });
      }),
  })
  .strict();

export const calibrationSchema = z
  .object({
    image: z.array(point).length(4, 'exactly 4 image points').describe('four points on the road surface, in source pixels'),
    world: z.array(point).length(4, 'exactly 4 ground points').describe('the same four points on the ground, in metres'),
  })
  .strict()
  // The geometry the analytics would refuse at start (three points on one line, pairs that fold the
  // map), refused here: `xnorcam check` and a live reload then reject the file before anything stops.
  .superRefine((c, ctx) => {
    if (c.image.length !== 4 || c.world.length !== 4) return;
    try {
      Homography.fromPoints(c.image, c.world, 'calibration');
    } catch (e) {
      // Pointed at the list at fault (image or world) when the problem is within one of them.
      const message = (e as Error).message.replace(/^calibration: /, '');
      const list = /^(image|world) points /.exec(message)?.[1];
      ctx.addIssue({ code: 'custom', message, ...(list ? { path: [list] } : {}) });
    }
  });

/** Tracker overrides (src/track/tracker.ts TrackerConfig); defaults suit small darknet-style detectors. */
export const trackerSchema = z
  .object({
    highScore: z.number().min(0).max(1).optional().describe('boxes at or above this score match first and may start tracks'),
    lowScore: z.number().min(0).max(1).optional().describe('boxes below this are ignored; between low and high they only extend tracks'),
    newTrackScore: z.number().min(0).max(1).optional().describe('minimum score of a box that starts a new track'),
    matchIou: z.number().min(0).max(1).optional().describe('minimum IoU between a track prediction and a confident box'),
    lostBufferSec: z.number().positive().max(60).optional().describe('how long a lost track can be recovered (occlusions), seconds'),
    minHits: z.number().int().min(1).max(100).optional().describe('matches before a track is confirmed (counted and shown)'),
    minConfirmSec: z.number().min(0).max(10).optional().describe('time those matches must span, seconds'),
    classAgnostic: z.boolean().optional().describe('match regardless of class; the track class is the majority vote'),
    crossClassDuplicateIou: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('a box of another class over a matched box at this IoU is a second label, not a new object (0 = off)'),
  })
  .strict();

export const sourceSchema = z
  .object({
    name,
    url: z
      .string()
      .min(1)
      .superRefine((url, ctx) => {
        const problem = sourceUrlProblem(url);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .describe('rtsp://, http(s)://, a file path, /dev/videoN, or lavfi:<test source> (one ffmpeg test source with key=value options, e.g. lavfi:testsrc2=size=640x360:rate=25)'),
    model: z.string().min(1).optional().describe('packed .xnor model for this source; default: the pipeline-level model'),
    thresh: z
      .number()
      .gt(0, 'a threshold above 0')
      .lt(1, 'a threshold below 1')
      .optional()
      .describe("minimum detection score for this source only (a specialised model's operating threshold); default: detector.thresh"),
    mode: z.enum(['live', 'batch']).default('live').describe('live: latest frame wins; batch: every frame, in order'),
    loop: z.boolean().default(false).describe('replay a file source forever (live mode)'),
    fpsCap: z.number().positive().max(120).optional().describe('detect at most this many frames per second: the first frame of each 1/fpsCap s is kept at its own time, the others dropped (never repeated)'),
    transport: z.enum(['tcp', 'udp']).default('tcp').describe('RTSP transport'),
    watchdogSeconds: z.number().positive().max(600).default(10).describe('restart the source when no frame arrives for this long'),
    reconnectMaxSeconds: z
      .number()
      .min(0.25)
      .max(600)
      .default(1)
      .describe('longest pause between attempts to reach a source that stays down (doubling from 0.25 s; the first frame resets it)'),
    lines: z.array(lineSchema).default([]),
    zones: z.array(zoneSchema).default([]),
    calibration: calibrationSchema.optional(),
    tracker: trackerSchema.optional(),
    movements: z
      .boolean()
      .default(false)
      .describe(
        'turning movements: each vehicle from the first of these lines it crossed to the last, told as a movement event when its track ends, counted per interval in <source>.movements.csv (with outputs.files.counts), the dashboard and /api/counts (two lines or more, one across each approach)',
      ),
  })
  .strict()
  // Refused here, not when the source starts: `xnorcam check` and a reload reject it before anything stops.
  .refine((s) => !s.movements || s.lines.length >= 2, { message: 'movements need at least two lines (one across each approach)', path: ['movements'] });

const rotationSchema = z
  .object({
    maxBytes: z.number().int().positive().default(100 * 1024 * 1024),
    maxFiles: z.number().int().positive().max(1000).default(10),
  })
  .strict();

export const webhookSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }).describe('HTTP(S) endpoint receiving JSON POSTs'),
    events: z
      .array(z.enum(TRAFFIC_EVENT_TYPES))
      .min(1)
      .default([...TRAFFIC_EVENT_TYPES]),
    timeoutMs: z.number().int().positive().max(60_000).default(5000),
    maxRetries: z.number().int().min(0).max(20).default(5),
    queueSize: z.number().int().positive().max(100_000).default(1000).describe('events kept while the endpoint is down; oldest dropped beyond'),
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const outputsSchema = z
  .object({
    dashboard: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        token: z
          .string()
          .superRefine((token, ctx) => {
            const problem = tokenProblem(token);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .optional()
          .describe('access token for the page, API and socket (better: the XNORCAM_DASHBOARD_TOKEN environment variable); printable ASCII, no spaces, at least 8 characters, 16 or more advised'),
        allowNoToken: z
          .boolean()
          .default(false)
          .describe('true: listen beyond this machine (host 0.0.0.0 or a network address) without a token, open to anyone who reaches the port; otherwise run refuses to start so (run --allow-no-token)'),
        allowedHosts: z
          .array(
            z.string().superRefine((entry, ctx) => {
              const problem = allowedHostProblem(entry);
              if (problem) ctx.addIssue({ code: 'custom', message: problem });
            }),
          )
          .default([])
          .describe(
            'without a token, host names besides IP addresses, localhost and single-label names that the dashboard may be addressed by (DNS rebinding protection); .example.org allows every name under it',
          ),
        displayWidth: z.number().int().min(160).max(3840).default(640),
        video: z
          .boolean()
          .default(true)
          .describe(
            'false: the page, API, /metrics and /healthz without the video; ffmpeg makes no display JPEGs, ~0.055 core per 25-30 fps camera saved (run --no-video)',
          ),
      })
      .strict()
      .default({ enabled: true, host: '127.0.0.1', port: 8080, allowNoToken: false, allowedHosts: [], displayWidth: 640, video: true }),
    files: z
      .object({
        dir: z.string().default('out'),
        detections: z.boolean().default(false).describe('per-source JSONL of every processed frame'),
        events: z.boolean().default(true).describe('JSONL event log'),
        counts: z.boolean().default(true).describe('CSV of counts per interval'),
        rotate: rotationSchema.default({ maxBytes: 100 * 1024 * 1024, maxFiles: 10 }),
      })
      .strict()
      .optional(),
    webhooks: z.array(webhookSchema).default([]),
    metrics: z.object({ enabled: z.boolean().default(true) }).strict().default({ enabled: true }),
  })
  .strict();

const WORKERS = "expected 'auto' or an integer from 1 to 64";

export const pipelineSchema = z
  .object({
    $schema: z.string().optional(),
    model: z.string().optional().describe('packed .xnor model; default: the bundled model'),
    workers: z
      .union([z.literal('auto'), z.number().int(WORKERS).min(1, WORKERS).max(64, WORKERS)], { error: WORKERS })
      .default('auto')
      .describe('detector threads: auto (one per core, or cores / detector.threadsPerFrame) or 1 to 64'),
    detector: z
      .object({
        thresh: z.number().min(0).max(1).default(0.25),
        nms: z.number().min(0).max(1).default(0.45),
        backend: z.enum(['auto', ...KERNEL_BACKENDS]).default('auto').describe(`kernel backend: auto, ${KERNEL_BACKENDS.join(', ')}`),
        classes: z
          .union([z.enum(['traffic', 'all']), z.array(z.string().min(1)).min(1)])
          .default('traffic')
          .describe('classes to detect, track and count: traffic (car, truck, bus, motorcycle, bicycle, person, those the model has), all, or a list of names'),
        precision: z
          .enum(['exact', 'fast'])
          .default('exact')
          .describe('float-layer numerics: exact (darknet bit-exact) or fast (int8/FMA on AVX-512 VNNI CPUs, FMA on AVX2 ones, detections within tolerance)'),
        threadsPerFrame: z
          .number()
          .int()
          .min(1)
          .max(64)
          .default(1)
          .describe('threads splitting each frame (lower latency for few cameras); workers: auto then means cores / threadsPerFrame'),
      })
      .strict()
      .default({ thresh: 0.25, nms: 0.45, backend: 'auto', classes: 'traffic', precision: 'exact', threadsPerFrame: 1 }),
    countIntervalSeconds: z.number().int().positive().max(86_400).default(60),
    sources: z.array(sourceSchema).min(1, 'at least one source'),
    outputs: outputsSchema.default({
      dashboard: { enabled: true, host: '127.0.0.1', port: 8080, allowNoToken: false, allowedHosts: [], displayWidth: 640, video: true },
      webhooks: [],
      metrics: { enabled: true },
    }),
    retention: z
      .object({ days: z.number().positive().max(3650).default(30).describe('delete output files older than this') })
      .strict()
      .default({ days: 30 }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    cfg.sources.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `duplicate source name '${s.name}' (also sources[${seen.get(s.name)}])` });
      seen.set(s.name, i);
      const names = new Set<string>();
      for (const [kind, list] of [['lines', s.lines], ['zones', s.zones]] as const) {
        list.forEach((item, j) => {
          if (names.has(item.name)) ctx.addIssue({ code: 'custom', path: ['sources', i, kind, j, 'name'], message: `duplicate line/zone name '${item.name}'` });
          names.add(item.name);
        });
      }
    });
  });

export type PipelineConfig = z.output<typeof pipelineSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
export type WebhookConfig = z.output<typeof webhookSchema>;

/** JSON Schema (draft 2020-12) of the pipeline file, for editors. */
export function pipelineJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(pipelineSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
