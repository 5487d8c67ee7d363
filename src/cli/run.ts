import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { UserError } from '../core/errors.js';
import { fatal, logger, logIsJson, report } from '../core/log.js';
import type { SourceStatus } from '../core/feed.js';
import { formatProblemAt, loadPipelineConfig } from '../config/load.js';
import { backendFlag, classesOption, kernelOptions, precisionFlag, threadsPerFrameFlag, threadsPerFrameOption } from './kernel-options.js';
import { parseClassesOption } from '../pipeline/class-filter.js';
import type { PipelineConfig } from '../config/schema.js';
import { PipelineOutputs } from '../ops/pipeline-outputs.js';
import { createPipelineMetrics } from '../ops/metrics.js';
import { modelOptions, resolveModel, type ModelRef } from '../pipeline/model-ref.js';
import { parseLineOption, refuseRepeatedNames } from '../pipeline/line-option.js';
import { parseCalibrationOption, parseZoneOption } from '../pipeline/calibration-option.js';
import { sceneOptions } from './scene-options.js';
import { PipelineReloader } from '../pipeline/live-reload.js';
import { Pipeline, type PipelineOptions, type PipelineSource, type SourceEnd } from '../pipeline/pipeline.js';
import { checkFileSource } from '../ingest/probe.js';
import { numberOption, parseCommandArgs, type CommandSpec, type OptionSpec } from './command.js';
import { JsonLinesOut } from './json-lines-out.js';
import { allowedHostProblem } from '../server/host-check.js';
import { TOKEN_ENV } from '../server/auth.js';
import { exposureRefusal } from '../server/exposure.js';
import { tokenAdvice, tokenProblem } from '../server/token-rule.js';
import { takeHeldHup } from './early-hup.js';
import { TrackIdFile } from '../ops/track-ids.js';
import { tellCountsSummary } from './counts-summary.js';

export const spec = {
  name: 'run',
  summary: 'Run live sources (cameras, streams, files played live) with the dashboard',
  usage: '<source-url-or-file...> | <pipeline.yaml> [options]',
  details: `Sources: rtsp://…, http(s)://… (incl. HLS), /dev/videoN, lavfi:<ffmpeg test source> (one, e.g.
lavfi:testsrc2=size=640x360:rate=25; no filter graph), or a file
(played at its native rate; --loop replays it). Live policy: the latest frame wins, older frames are
dropped and counted, so detections never wait for the detector; an RTSP/HTTP camera that decoding cannot
keep up with (too many or too large cameras for the cores) is restarted once it is 5 s behind (status:
behind, resyncs). Cameras that drop out are reconnected
forever with capped backoff. The run ends when every source has ended (a file at its end, unless --loop),
after --duration, or at Ctrl-C/SIGTERM. Prints per-source fps, latency and drops every --stats seconds (on a
terminal; elsewhere only when --stats is given), and once for each source when it stops, then each
counting line's totals by direction and class (on stderr). Sources given here write no files: counts are kept
only with a pipeline file's outputs.files (or use xnorcam batch for recordings).
With a pipeline.yaml, its sources, lines, zones, model and dashboard settings are used (flags given
on the command line override the dashboard's host/port/token; --model replaces the pipeline-level
model, a source's own model: still wins; --thresh likewise replaces detector.thresh, not a source's thresh:). The file is reloaded on SIGHUP and when it changes on disk:
only sources whose settings or model changed restart, the others keep running; an invalid file is
rejected with its file:line error and the running pipeline stays as it was.`,
  options: {
    ...modelOptions,
    ...kernelOptions,
    ...threadsPerFrameOption,
    ...classesOption,
    loop: { type: 'boolean', description: 'Replay file sources forever' },
    transport: { type: 'string', value: 'tcp|udp', description: 'RTSP transport', default: 'tcp' },
    line: { type: 'string', multiple: true, value: 'NAME:X1,Y1,X2,Y2', description: 'Counting line in source pixels, for every source given on the command line (repeatable; a pipeline file gives each source its lines:); forward = traffic going from your left to your right as you stand at X1,Y1 facing X2,Y2 (docs/tracking.md)' },
    ...sceneOptions(', for every source given on the command line; a pipeline file gives each source its own'),
    thresh: { type: 'string', value: 'P', description: 'Minimum detection score (default: 0.25, or the pipeline file\'s)' },
    nms: { type: 'string', value: 'IOU', description: 'Per-class NMS IoU threshold (default: 0.45, or the pipeline file\'s)' },
    workers: { type: 'string', value: 'N', description: 'Detector threads (default: one per core)' },
    host: { type: 'string', value: 'HOST', description: 'Dashboard address (default: 127.0.0.1, or the pipeline file\'s)' },
    port: { type: 'string', value: 'PORT', description: 'Dashboard port, 0 = any free port (default: 8080, or the pipeline file\'s)' },
    token: {
      type: 'string',
      value: 'TOKEN',
      description: `Require this token for the dashboard and API (default: ${TOKEN_ENV} from the environment, else the pipeline file's outputs.dashboard.token): printable ASCII without spaces, at least 8 characters, 16 or more advised (openssl rand -hex 16 makes one); an address that tries 20 wrong ones within a minute is answered 429 for the rest of it`,
    },
    'allow-no-token': {
      type: 'boolean',
      description: 'Let the dashboard listen beyond this machine (--host 0.0.0.0 or a network address) without a token, open to anyone who reaches the port; without it run refuses to (outputs.dashboard.allowNoToken: true in a pipeline file)',
    },
    'allowed-host': {
      type: 'string',
      multiple: true,
      value: 'NAME',
      description: 'Without --token, a host name the dashboard may be addressed by besides IP addresses, localhost and single-label names (DNS rebinding protection; .example.org: every name under it; repeatable)',
    },
    'no-dashboard': { type: 'boolean', description: 'Do not start the dashboard server (nor /metrics, /healthz, the API)' },
    'no-video': {
      type: 'boolean',
      description:
        "Keep the dashboard server (page with counts, API, /metrics, /healthz) but send it no video: ffmpeg then makes no display JPEGs, ~0.055 core per 25-30 fps camera (outputs.dashboard.video: false in a pipeline file)",
    },
    'display-width': { type: 'string', value: 'PX', description: 'Width of the dashboard video (MJPEG)', default: '640' },
    stats: {
      type: 'string',
      value: 'SECONDS',
      description:
        'Print per-source stats this often (0 = never; default: 5 on a terminal, 0 elsewhere, e.g. Docker or a service, where a line per camera every 5 s filled the log: state changes are logged anyway, and /metrics has the figures); JSON log records where the log is JSON and they would not reach a terminal',
    },
    duration: { type: 'string', value: 'SECONDS', description: 'Stop after this long (default: until Ctrl-C)' },
    json: { type: 'boolean', description: 'Print every frame result as one JSON line on stdout (stats and the dashboard URL then go to stderr, as JSON log records when the log is JSON)' },
  },
  positionals: { min: 1 },
} satisfies CommandSpec<Record<string, OptionSpec>>;

export interface RunSetup {
  options: PipelineOptions;
  dashboard: {
    enabled: boolean;
    host: string;
    port: number;
    token?: string;
    /** Where the token came from (--token, the environment variable, the file's key), for messages about it. */
    tokenFrom?: string;
    allowNoToken: boolean;
    allowedHosts: string[];
  };
  /** Event log, counts CSV, webhooks and retention from a pipeline file. */
  outputs?: Pick<PipelineConfig, 'outputs' | 'retention'>;
  /** The pipeline file, and how to read it again (live reload). */
  file?: string;
  reload?: () => RunSetup;
}

/** Turns command-line values (and a pipeline file when given) into pipeline options. */
export function setupFromArgs(positionals: string[], v: Record<string, string | string[] | boolean | undefined>, reloading = false): RunSetup {
  const str = (k: string) => v[k] as string | undefined;
  const thresh = numberOption('thresh', str('thresh'), 0.25, { min: 0, max: 1 });
  const nms = numberOption('nms', str('nms'), 0.45, { min: 0, max: 1 });
  const workers = str('workers') ? numberOption('workers', str('workers'), 1, { integer: true, min: 1, max: 64 }) : undefined;
  const displayWidth = numberOption('display-width', str('display-width'), 640, { integer: true, min: 160, max: 3840 });
  const port = numberOption('port', str('port'), 8080, { integer: true, min: 0, max: 65535 });
  const transport = str('transport') ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'udp') throw new UserError(`--transport: '${transport}' is not tcp or udp`, 2);
  const lines = ((v.line as string[] | undefined) ?? []).map(parseLineOption);
  const zones = ((v.zone as string[] | undefined) ?? []).map(parseZoneOption);
  const calibration = str('calibration') === undefined ? undefined : parseCalibrationOption(str('calibration')!);
  refuseRepeatedNames(lines, zones);
  const classes = parseClassesOption(str('classes'));
  const precision = precisionFlag(str('precision'));
  const threadsPerFrame = threadsPerFrameFlag(str('threads-per-frame'));
  const tokenGiven = dashboardTokenFlag(str('token'));
  const allowedHosts = (v['allowed-host'] as string[] | undefined) ?? [];
  for (const entry of allowedHosts) {
    const problem = allowedHostProblem(entry);
    if (problem) throw new UserError(`--allowed-host: ${problem}`, 2);
  }

  const yamlFile = positionals.find((p) => /\.ya?ml$/i.test(p));
  if (yamlFile && positionals.length > 1) {
    // Read as a video beside the others, it failed as "not a readable video", which it is not meant to be.
    throw new UserError(`${yamlFile}: a pipeline file is given alone (its sources: list names the cameras); got ${positionals.length - 1} more argument${positionals.length > 2 ? 's' : ''} beside it`, 2);
  }
  if (yamlFile) {
    const file = yamlFile;
    // Which of the file's sources it would be for is not for a flag to guess: silently dropping it lost a day's counts.
    const given = { line: lines.length > 0, zone: zones.length > 0, calibration: calibration !== undefined };
    for (const [flag, key] of [['line', 'lines'], ['zone', 'zones'], ['calibration', 'calibration']] as const) {
      if (given[flag]) throw new UserError(`--${flag}: not with a pipeline file (${file}): give each source its ${key}: there`, 2);
    }
    const modelFlag = Boolean(v.model || v.cfg);
    // Model files are checked here, with the file's line, not later as if they were --model flags.
    // On a reload a recording no longer there (archived once processed) is no reason to refuse the whole
    // file: only a source added or changed needs it, and says so when it starts.
    const cfg = loadPipelineConfig(file, { checkModels: true, skipPipelineModel: modelFlag, sourceFiles: reloading ? 'skip' : 'check' });
    const model: ModelRef = cfg.model && !modelFlag ? resolveModel({ model: cfg.model, names: str('names') }, 'run') : resolveModel(v as Record<string, string | undefined>, 'run');
    const dash = cfg.outputs.dashboard;
    const token = tokenGiven ?? (dash.token !== undefined ? { token: dash.token, from: `${file}: outputs.dashboard.token` } : undefined);
    const dashboard = {
      enabled: dash.enabled && !v['no-dashboard'],
      host: str('host') ?? dash.host,
      port: str('port') ? port : dash.port,
      token: token?.token,
      tokenFrom: token?.from,
      allowNoToken: dash.allowNoToken || Boolean(v['allow-no-token']),
      // Names given on the command line add to the file's: both are names the operator uses.
      allowedHosts: [...dash.allowedHosts, ...allowedHosts],
    };
    // The dashboard is started once, as first read: a reload only reports its settings.
    if (!reloading) refuseOpenDashboard(dashboard);
    return {
      options: {
        model,
        workers: workers ?? (cfg.workers === 'auto' ? undefined : cfg.workers),
        backend: backendFlag(str('backend')) ?? (cfg.detector.backend === 'auto' ? undefined : cfg.detector.backend),
        precision: precision ?? cfg.detector.precision,
        threadsPerFrame: threadsPerFrame ?? cfg.detector.threadsPerFrame,
        detect: { thresh: str('thresh') ? thresh : cfg.detector.thresh, nms: str('nms') ? nms : cfg.detector.nms },
        classes: classes ?? cfg.detector.classes,
        classesLabel: classes ? '--classes' : `${file}: detector.classes`,
        countIntervalMs: cfg.countIntervalSeconds * 1000,
        display: dash.enabled && dash.video && !v['no-dashboard'] && !v['no-video'] ? { width: dash.displayWidth } : undefined,
        sources: cfg.sources.map(
          (s): PipelineSource => ({
            url: s.url,
            name: s.name,
            ...(s.model ? { model: s.model } : {}),
            ...(s.thresh !== undefined ? { thresh: s.thresh } : {}),
            mode: s.mode,
            loop: s.loop || Boolean(v.loop),
            transport: s.transport,
            fpsCap: s.fpsCap,
            watchdogSeconds: s.watchdogSeconds,
            reconnectMaxSeconds: s.reconnectMaxSeconds,
            lines: s.lines as PipelineSource['lines'],
            zones: s.zones as PipelineSource['zones'],
            calibration: s.calibration as PipelineSource['calibration'],
            tracker: s.tracker,
            ...(s.movements ? { movements: true } : {}),
          }),
        ),
      },
      dashboard,
      outputs: { outputs: cfg.outputs, retention: cfg.retention },
      file,
      reload: () => setupFromArgs(positionals, v, true),
    };
  }
  const noDash = Boolean(v['no-dashboard']);
  const dashboard = {
    enabled: !noDash,
    host: str('host') ?? '127.0.0.1',
    port,
    token: tokenGiven?.token,
    tokenFrom: tokenGiven?.from,
    allowNoToken: Boolean(v['allow-no-token']),
    allowedHosts,
  };
  refuseOpenDashboard(dashboard);
  return {
    options: {
      model: resolveModel(v as Record<string, string | undefined>, 'run'),
      workers,
      backend: backendFlag(str('backend')),
      precision,
      threadsPerFrame,
      detect: { thresh, nms },
      classes,
      classesLabel: '--classes',
      display: noDash || v['no-video'] ? undefined : { width: displayWidth },
      sources: positionals.map((url) => ({ url, mode: 'live', loop: Boolean(v.loop), transport, lines, zones, calibration })),
    },
    dashboard,
  };
}

/** Refused before anything starts, not once the models are loaded and the cameras connected. */
function refuseOpenDashboard(d: RunSetup['dashboard']): void {
  const refusal = d.enabled ? exposureRefusal(d.host, d.port, d.token !== undefined, d.allowNoToken) : null;
  if (refusal) throw new UserError(refusal, 2);
}

export function formatStatus(s: SourceStatus): string {
  return [
    s.name.padEnd(14),
    s.state.padEnd(12),
    `decoded ${s.decodedFps.toFixed(1)} fps`,
    `detected ${s.detectedFps.toFixed(1)} fps`,
    `latency ${s.latencyMs} ms`,
    `dropped ${s.droppedFrames}`,
    `reconnects ${s.reconnects}`,
    // The camera's own rate, beside what is decoded of it (after fpsCap); at the end, where it changes no parser of the figures before it.
    ...(s.streamFps !== undefined ? [`camera ${s.streamFps} fps`] : []),
    ...(s.behindMs !== undefined ? [`behind ${(s.behindMs / 1000).toFixed(1)} s`, `resyncs ${s.resyncs ?? 0}`] : []),
    ...(s.model ? [`model ${s.model}`] : []),
    ...(s.state !== 'running' && s.lastError ? [`(${s.lastError})`] : []),
  ].join('  ');
}

/** The figures of formatStatus, as fields of a log record. */
function statusFields(s: SourceStatus): Record<string, unknown> {
  return {
    source: s.name,
    state: s.state,
    decodedFps: Number(s.decodedFps.toFixed(1)),
    detectedFps: Number(s.detectedFps.toFixed(1)),
    latencyMs: s.latencyMs,
    dropped: s.droppedFrames,
    reconnects: s.reconnects,
    ...(s.streamFps !== undefined ? { streamFps: s.streamFps } : {}),
    ...(s.behindMs !== undefined ? { behindSeconds: Number((s.behindMs / 1000).toFixed(1)), resyncs: s.resyncs ?? 0 } : {}),
    ...(s.model ? { model: s.model } : {}),
    ...(s.state !== 'running' && s.lastError ? { error: s.lastError } : {}),
  };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(spec, argv);
  if (!args) return 0;
  const v = args.values;
  // Steady state logs nothing where no one watches: the figures are for a person at a terminal.
  const statsStream: { isTTY?: boolean } = v.json ? process.stderr : process.stdout;
  const statsSec = numberOption('stats', v.stats ?? (statsStream.isTTY ? '5' : '0'), 5, { min: 0 });
  const durationSec = v.duration ? numberOption('duration', v.duration, 0, { min: 0, above: true }) : undefined;
  const setup = setupFromArgs(args.positionals, v);
  await checkFileSources(setup);
  return runLive(setup, { statsSec, durationSec, json: Boolean(v.json) });
}

/**
 * A recording that is no video is refused in one line before anything starts, as batch does (and a reload
 * refuses an edit naming one); from a pipeline file, with its `url:` line, as the file's other problems are.
 */
async function checkFileSources(setup: RunSetup): Promise<void> {
  for (const [i, source] of setup.options.sources.entries()) {
    try {
      await checkFileSource(source.url);
    } catch (e) {
      if (!setup.file || !(e instanceof UserError)) throw e;
      throw new UserError(formatProblemAt(setup.file, readFileSync(setup.file, 'utf8'), ['sources', i, 'url'], e.message), e.exitCode);
    }
  }
}

/** Runs a live pipeline until Ctrl-C/SIGTERM (or the duration, or every source has ended). */
export async function runLive(setup: RunSetup, opts: { statsSec: number; durationSec?: number; json?: boolean; banner?: string }): Promise<number> {
  const signals = watchSignals(Boolean(setup.file));
  logger.info('starting', { sources: setup.options.sources.length, ...(setup.file ? { file: setup.file } : {}) });
  try {
    return await runStarted(setup, opts, signals);
  } finally {
    signals.dispose();
  }
}

/**
 * Signals, taken from the start: loading models and starting the dashboard take a while, and a SIGHUP
 * then (a deploy script's reload) killed the process, a SIGTERM left it to die mid-start. SIGINT and
 * SIGTERM stop the run (a second one exits at once); a SIGHUP that comes before the reloader listens
 * is kept for it, and one without a pipeline file to reload is logged and ignored.
 */
function watchSignals(reloadable: boolean) {
  let signal: NodeJS.Signals | undefined;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = (sig: NodeJS.Signals) => {
    if (signal) process.exit(sig === 'SIGTERM' ? 143 : 130);
    signal = sig;
    stop();
  };
  let earlyHup = false;
  const onEarlyHup = () => (earlyHup = true);
  // Without a pipeline file there is nothing to reload; a systemd ExecReload or a closed terminal must not kill the cameras.
  const onNoReload = () => logger.warn('SIGHUP ignored: the sources were given on the command line, there is no pipeline file to reload');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', reloadable ? onEarlyHup : onNoReload);
  // One that came while this module was still loading (main.ts held it).
  if (takeHeldHup()) (reloadable ? onEarlyHup : onNoReload)();
  return {
    stopped,
    stop,
    signalled: () => signal !== undefined,
    /** The reloader listens from now on: whether a reload was asked for before. */
    takeEarlyHup(): boolean {
      process.off('SIGHUP', onEarlyHup);
      return earlyHup;
    },
    dispose(): void {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onEarlyHup);
      process.off('SIGHUP', onNoReload);
    },
  };
}

async function runStarted(
  setup: RunSetup,
  opts: { statsSec: number; durationSec?: number; json?: boolean; banner?: string },
  signals: ReturnType<typeof watchSignals>,
): Promise<number> {
  // With an output folder, track ids go on from the run before (events.jsonl is appended to, not restarted).
  const outputDir = setup.outputs?.outputs.files?.dir;
  const trackIds = outputDir !== undefined ? new TrackIdFile(outputDir) : undefined;
  const pipeline = new Pipeline(trackIds ? { ...setup.options, trackIds } : setup.options);
  // Attached before start so the first source-up events are not missed.
  const outputs = setup.outputs ? new PipelineOutputs(pipeline, setup.outputs) : undefined;
  // Metrics too, so the frame counters include the first frames; /metrics is served by the dashboard.
  let websocketClients = () => 0;
  const metricsWanted = setup.outputs?.outputs.metrics.enabled ?? true;
  // Attached before start too: the first frames and source-up come while the dashboard is still starting.
  const json = opts.json ? new JsonLinesOut(process.stdout, (message) => logger.warn(message)) : undefined;
  if (json) {
    pipeline.on('result', (r) => json.frame(r));
    // Events not tied to a frame ({"source","events"}, no "frame"): source up/down, zone exits as a source ends.
    pipeline.on('events', (e) => json.events(e));
  }
  // Said when it happens, not only at exit: a file source is not retried, and a run with cameras goes on for days.
  pipeline.on('source-end', (e: SourceEnd) => {
    if (e.state === 'failed') logger.error('source failed; it is not retried', { source: e.source, error: e.error ?? 'failed', ...(e.damaged ? { damaged: e.damaged } : {}) });
  });
  const metrics =
    setup.dashboard.enabled && metricsWanted
      ? createPipelineMetrics(pipeline, {
          websocketClients: () => websocketClients(),
          webhooks: () => outputs?.webhookStats() ?? [],
          outputLinesLost: () => outputs?.linesLost() ?? [],
          outputLinesHeld: () => outputs?.linesHeld() ?? [],
        })
      : undefined;
  await pipeline.start();
  outputs?.resumeIntervals();
  const info = pipeline.detectorInfo!;
  logger.info('pipeline started', {
    sources: pipeline.sourceNames().join(','),
    models: [...new Set(pipeline.sourceNames().map((n) => pipeline.modelOf(n)))].join(','),
    input: `${info.inputWidth}x${info.inputHeight}`,
    backend: info.backend,
    precision: info.precision,
    threads: info.workers,
    threadsPerFrame: info.threadsPerFrame,
    cores: availableParallelism(),
  });
  tellCountsNotSaved(setup);

  // With --json, stdout carries only the JSON lines (a consumer parses every line); the rest goes to stderr.
  const human = opts.json ? process.stderr : process.stdout;
  // Where the log is JSON and these lines would not reach a terminal (Docker, a service manager, `--json`'s
  // stderr), they are log records too: a log shipper parses every line of the stream.
  const statusAsRecords = logIsJson() && !(human as { isTTY?: boolean }).isTTY;
  let dashboard: { url: string; close(): Promise<void> } | undefined;
  if (setup.dashboard.enabled) {
    // Short tokens still run (they did before 16 was advised), said at every start.
    const advice = setup.dashboard.token !== undefined ? tokenAdvice(setup.dashboard.token) : null;
    if (advice) logger.warn(`${setup.dashboard.tokenFrom}: ${advice}`);
    try {
      const { startDashboardServer } = await import('../server/index.js');
      const server = await startDashboardServer(pipeline, {
        host: setup.dashboard.host,
        port: setup.dashboard.port,
        token: setup.dashboard.token,
        allowNoToken: setup.dashboard.allowNoToken,
        allowedHosts: setup.dashboard.allowedHosts,
        outputFailures: () => outputs?.failingFiles() ?? [],
      });
      dashboard = server;
      websocketClients = () => server.clients().length;
      if (metrics) server.addRoute('/metrics', (req, res) => metrics.handle(req, res));
      tellDashboard(server.url, setup.dashboard.token, { human, asRecord: statusAsRecords, banner: opts.banner });
    } catch (e) {
      await pipeline.close();
      metrics?.close();
      throw e;
    }
  }

  const reloader =
    setup.file && setup.reload
      ? new PipelineReloader(pipeline, setup.file, () => reloadable(setup.reload!()), reloadable(setup))
      : undefined;
  reloader?.start();
  // A reload asked for while starting: the file may have changed since it was read.
  if (signals.takeEarlyHup() && reloader && !signals.signalled()) void reloader.reload('signal');

  const tellStatus = (s: SourceStatus) => (statusAsRecords ? report('source status', statusFields(s)) : human.write(formatStatus(s) + '\n'));
  const statsTimer =
    opts.statsSec > 0
      ? setInterval(() => {
          for (const s of pipeline.sources()) tellStatus(s);
        }, opts.statsSec * 1000)
      : undefined;

  if (opts.durationSec) setTimeout(signals.stop, opts.durationSec * 1000).unref();
  void pipeline.finished.then(signals.stop);
  await signals.stopped;
  await reloader?.close();
  clearInterval(statsTimer);
  await pipeline.close();
  json?.finish();
  // Its exact next ids written while the folder's lock is still held: a run started the moment it is
  // released reads them, not a reserved block's end this one would then write over.
  trackIds?.close();
  await outputs?.close();
  metrics?.close();
  await dashboard?.close();
  const ends = pipeline.sources();
  for (const s of ends) tellStatus(s);
  tellCountsSummary(pipeline);
  // Stopped by a signal, the stop is what the exit status reports: the failure was told when it happened, and a
  // supervisor reading 1 would count a stop asked for as a crash. A run that ended by itself reports it.
  const failed = signals.signalled() ? [] : ends.filter((s) => s.state === 'failed');
  if (failed.length) {
    fatal(`${failed[0].url}: ${failed[0].lastError ?? 'failed'}`);
    return 1;
  }
  return 0;
}

/**
 * Sources given on the command line have no outputs: their counts are on the dashboard and in the summary at
 * the end, then gone. Said at start, while there is time to stop and rerun it another way.
 */
function tellCountsNotSaved(setup: RunSetup): void {
  if (setup.file || !setup.options.sources.some((s) => (s.lines?.length ?? 0) > 0)) return;
  logger.info(
    'counts are not saved to any file, only summed up when the run ends: to keep them, give the sources in a pipeline file with outputs.files (docs/pipeline.md), or count recordings with xnorcam batch <file> --line …',
  );
}

const TOKEN_GIVEN = `required (given with --token, ${TOKEN_ENV} or outputs.dashboard.token)`;

/**
 * The token from --token, else from the environment: a container's secret belongs in its environment
 * (compose `environment:`, an env file), not on a command line every `ps` and `docker inspect` shows.
 * Both beat the pipeline file's. An empty variable is unset (compose passes `${VAR:-}` through as '').
 */
function dashboardTokenFlag(flag: string | undefined): { token: string; from: string } | undefined {
  const env = process.env[TOKEN_ENV];
  const given = flag !== undefined ? { token: flag, from: '--token' } : env ? { token: env, from: TOKEN_ENV } : undefined;
  // The same rule as outputs.dashboard.token (an empty flag too: it would turn auth off).
  const problem = given && tokenProblem(given.token);
  if (problem) throw new UserError(`${given.from}: ${problem}`, 2);
  return given;
}

/**
 * The dashboard's address. With the token only for a person at a terminal, who clicks it: a stream that
 * is no terminal (Docker, a service manager, a pipe) ends up in a log, where the token would be read by
 * whoever reads the logs. Where the log is JSON the address is a record like every other line.
 */
function tellDashboard(url: string, token: string | undefined, to: { human: NodeJS.WritableStream & { isTTY?: boolean }; asRecord: boolean; banner?: string }): void {
  if (to.asRecord) return report('dashboard', { url, ...(token ? { token: TOKEN_GIVEN } : {}) });
  // url ends in '/': the page itself, which swaps ?token= for a cookie.
  const shown = !token ? url : to.human.isTTY && !logIsJson() ? `${url}?token=${encodeURIComponent(token)}` : `${url} (token ${TOKEN_GIVEN})`;
  to.human.write(`${to.banner ?? 'dashboard'}: ${shown}\n`);
}

/** Dashboard and output settings are fixed for the life of the process: a reload only reports them, by their keys. */
function reloadable(s: RunSetup): { options: PipelineOptions; fixed: Record<string, unknown> } {
  const fixed: Record<string, unknown> = { 'outputs.dashboard': s.dashboard, retention: s.outputs?.retention };
  for (const [key, value] of Object.entries(s.outputs?.outputs ?? {})) if (key !== 'dashboard') fixed[`outputs.${key}`] = value;
  return { options: s.options, fixed };
}
