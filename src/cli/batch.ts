import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, relative } from 'node:path';
import { UserError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { makeOutputDir } from '../core/output-dir.js';
import { fatal, logger } from '../core/log.js';
import { listNames } from '../core/list-names.js';
import { BATCH_LOCK_RE, batchLockFile, describeHolder, OutputLock, outputLockHolder, type OutputLockInfo } from '../ops/output-lock.js';
import { createProgress, type Progress } from '../core/progress.js';
import type { SourceEvents } from '../core/feed.js';
import type { FrameResult } from '../core/types.js';
import { backendFlag, classesOption, kernelOptions, precisionFlag, threadsPerFrameFlag, threadsPerFrameOption } from './kernel-options.js';
import { parseClassesOption } from '../pipeline/class-filter.js';
import { probeVideo } from '../ingest/probe.js';
import { parseSource } from '../ingest/source-spec.js';
import { dateEvents, parseStartTime, recordingStart, type ClockStart, type StartTime } from '../ingest/start-time.js';
import { annotatePartialPath, annotateVideo } from '../outputs/annotate-video.js';
import { CountsCsvWriter } from '../outputs/counts-csv.js';
import { MovementsCsvWriter } from '../outputs/movements-csv.js';
import { lostTrackMs } from '../track/analytics.js';
import { DetectionsJsonl } from '../outputs/detections-jsonl.js';
import { EventsJsonl } from '../outputs/events-jsonl.js';
import { MotTracksWriter } from '../outputs/mot-tracks.js';
import { modelOptions, resolveModel } from '../pipeline/model-ref.js';
import { Pipeline, type SourceEnd } from '../pipeline/pipeline.js';
import { numberOption, parseCommandArgs, type CommandSpec } from './command.js';
import { parseLineOption, refuseRepeatedNames } from '../pipeline/line-option.js';
import { parseCalibrationOption, parseZoneOption } from '../pipeline/calibration-option.js';
import { sceneOptions, speedStudyFlags, speedStudyOptions } from './scene-options.js';
import { SpeedStudyWriter } from '../outputs/speeds-csv.js';
import { appendBatchRun, BATCH_RUNS_FILE, lastBatchRuns, type AnnotatedStatus, type BatchRunRecord, type InputFile } from '../outputs/batch-runs.js';
import { earlierVerdict, fileSizes, inputFile, modelFiles, moveAsideStale, SUPERSEDED_DIR } from './batch-rerun.js';
import { requestedPrecision } from '../engine/kernels/precision.js';

export const spec = {
  name: 'batch',
  summary: 'Detect, track and count on video files, every frame, as fast as the cores allow',
  usage: '<video...> [--model FILE] [--out DIR] [--stride N] [--annotate] [--skip-done]',
  details: `Writes per input, into --out: <name>.detections.jsonl (one JSON line per processed frame:
{"frame","ptsMs","detections","tracks","events"}, boxes in source pixels), <name>.events.jsonl
(every traffic event on its own line: crossings, zone enter/exit with dwell), <name>.tracks.txt
(MOTChallenge), <name>.counts.csv (line counts per --count-interval of video time, or of the clock
with --start-time; a row for every line, direction and class, 0 where nothing crossed; each interval
written when it closes), with --movements <name>.movements.csv (turning movements: vehicles per
interval by the line they came in by and the line they left by), with --speeds <name>.speeds.csv
(a spot-speed study per interval, line, direction and class: mean, 15th/50th/85th percentile, max,
over --speed-limit) and <name>.crossings.csv (each crossing's speed) and, with --annotate,
<name>.annotated.mp4 (drawn after the input, with its
timing). Files are written as frames complete; on Ctrl-C, SIGTERM or a truncated/corrupt input the run
stops cleanly with every written line valid (--annotate then draws the frames done, as
<name>.annotated.partial.mp4), prints one line saying what happened (which inputs' outputs are partial,
complete, not started) and exits non-zero (1 input problem, 130 SIGINT, 143 SIGTERM). The files say it
too: a stopped input's CSVs have no total rows, and batch-runs.jsonl in --out gets a JSON line per input
as it starts and ends (fsynced): its file (size, modification time), the options that shape its outputs,
its status (running: killed outright; complete; partial, stoppedBy, stoppedAtSec; failed, error), frames,
videoSec and the files written; the last line of a name is the state of its files. Ctrl-C while annotated
videos are drawn stops the one being drawn (a valid shorter video, named partial) and draws no more: the last line names them and says the other outputs are complete
(exit 130); Ctrl-C again leaves at once. Every input is checked first: one that cannot be read gets an
error line with its reason and is left out, the others are processed, and the run exits 1; each input
with a problem (unreadable, damaged, detection failed) gets its own error line at the end. A rerun
replaces an input's files of an earlier run (said per input) and moves the ones it does not write again
(an earlier --movements, --speeds or --annotate run's) into --out/superseded/, saying so; with --skip-done
it skips inputs done before (batch-runs.jsonl: complete, the same file and options, its files as written).
A second batch into a folder one is writing is refused (exit 2).`,
  options: {
    ...modelOptions,
    ...kernelOptions,
    ...threadsPerFrameOption,
    ...classesOption,
    out: { type: 'string', short: 'o', value: 'DIR', description: 'Output folder', default: 'out' },
    stride: { type: 'string', value: 'N', description: 'Detect every Nth frame (1 = every frame)', default: '1' },
    annotate: { type: 'boolean', description: 'Also write <name>.annotated.mp4 with boxes drawn (H.264; <name>.annotated.partial.mp4 when it is short of the input)' },
    thresh: { type: 'string', value: 'P', description: 'Minimum detection score', default: '0.25' },
    nms: { type: 'string', value: 'IOU', description: 'Per-class NMS IoU threshold', default: '0.45' },
    line: { type: 'string', multiple: true, value: 'NAME:X1,Y1,X2,Y2', description: 'Counting line in source pixels (repeatable); forward = traffic going from your left to your right as you stand at X1,Y1 facing X2,Y2 (docs/tracking.md)' },
    ...sceneOptions(),
    movements: {
      type: 'boolean',
      description: 'Also write <name>.movements.csv: vehicles per --count-interval from the first --line they crossed to the last (two --line or more, one across each approach)',
    },
    ...speedStudyOptions,
    'count-interval': { type: 'string', value: 'SECONDS', description: 'Counts CSV interval, video time from the start of the file', default: '60' },
    'start-time': {
      type: 'string',
      value: 'WHEN',
      description:
        "When the recording started (ISO 8601 with offset, e.g. 2026-11-03T07:00:00+01:00, or 'file': its creation_time tag, UTC): the CSVs' intervals on the clock, each written at WHEN's offset (2026-11-03T07:00:00.000+01:00, 07:15 …; Z for file), and events' at = WHEN + ptsMs, epoch ms",
    },
    workers: { type: 'string', value: 'N', description: 'Detector threads (default: one per core)' },
    jobs: { type: 'string', value: 'N', description: 'Inputs decoded at the same time (default: threads)' },
    'skip-done': {
      type: 'boolean',
      description:
        'Skip the inputs an earlier run into --out finished (its batch-runs.jsonl says complete, of the same file, size and modification time, with the same output options, its files as written); partial, failed or changed ones are done again',
    },
  },
  positionals: { min: 1 },
} satisfies CommandSpec<Record<string, import('./command.js').OptionSpec>>;

interface InputJob {
  url: string;
  /** Its outputs' name (before a `-2` for a name an input before it has): its own, or that cut to fit a file name. */
  name: string;
  /** The name its outputs have: `name`, or with `-2`, `-3` … where an input before it has that name (assignOutputNames). */
  outName: string;
  /** Its own name was too long for a file name (fitName). */
  shortened: boolean;
  estimatedFrames: number;
  fps: number;
  /** --start-time: where its ptsMs 0 is on the clock, and the UTC offset its tables are written in. */
  start?: ClockStart;
  /** A file input as it was read (not a URL): whether it changed since an earlier run. */
  file?: InputFile;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(spec, argv);
  if (!args) return 0;
  const v = args.values;
  const stride = numberOption('stride', v.stride, 1, { integer: true, min: 1 });
  const thresh = numberOption('thresh', v.thresh, 0.25, { min: 0, max: 1 });
  const nms = numberOption('nms', v.nms, 0.45, { min: 0, max: 1 });
  const intervalSec = numberOption('count-interval', v['count-interval'], 60, { min: 0, above: true });
  const workers = v.workers ? numberOption('workers', v.workers, 1, { integer: true, min: 1, max: 64 }) : undefined;
  const jobs = numberOption('jobs', v.jobs, workers ?? availableParallelism(), { integer: true, min: 1 });
  const precision = precisionFlag(v.precision);
  const threadsPerFrame = threadsPerFrameFlag(v['threads-per-frame']);
  const lines = (v.line ?? []).map(parseLineOption);
  const zones = (v.zone ?? []).map(parseZoneOption);
  const calibration = v.calibration === undefined ? undefined : parseCalibrationOption(v.calibration);
  refuseRepeatedNames(lines, zones);
  const lineNames = lines.map((l) => l.name);
  const movements = Boolean(v.movements);
  if (movements && lines.length < 2) throw new UserError(`--movements: needs at least two --line (one across each approach), got ${lines.length}`, 2);
  const speeds = speedStudyFlags(v, calibration !== undefined, lines.length);
  const startTime = v['start-time'] === undefined ? undefined : parseStartTime(v['start-time']);
  const model = resolveModel(v, 'batch');
  const outDir = v.out ?? 'out';

  // Check every input before starting threads: a typo should cost nothing. One unreadable file in an archive
  // of hundreds is named (each with its own reason) and left out; the others are processed, and the run exits 1.
  const inputs: InputJob[] = [];
  const unreadable: string[] = [];
  for (const url of args.positionals) {
    try {
      inputs.push(await checkInput(url, startTime));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      fatal(e.message);
      unreadable.push(url);
    }
  }
  if (!inputs.length) return 1;
  makeOutputDir(outDir, `-o ${outDir}`, 2);
  assignOutputNames(inputs);
  const names = inputs.map((i) => i.outName);
  refuseLiveFiles(outDir, names);
  await claimForBatch(outDir, names);

  // What shapes an input's outputs (not threads, backend or paths: every backend gives the same bits): an
  // earlier run's outputs made with the same are this run's, and --skip-done keeps them.
  const shape = {
    model: modelFiles(model),
    precision: requestedPrecision(precision),
    classes: v.classes ?? 'traffic',
    stride,
    thresh,
    nms,
    line: lines,
    zone: zones,
    calibration: calibration ?? null,
    'count-interval': intervalSec,
    movements,
    speeds: speeds ?? null,
    annotate: Boolean(v.annotate),
  };
  const optionsOf = (job: InputJob) => ({ ...shape, 'start-time': job.start ?? null });
  const shownDir = relative(process.cwd(), outDir) || '.';
  const skipped = v['skip-done'] ? skipDone(inputs, outDir, shownDir, optionsOf) : [];
  const toRun = inputs.filter((j) => !skipped.includes(j));
  /** A line for batch-runs.jsonl about `job`'s outputs. */
  const runRecord = (job: InputJob, fields: Omit<BatchRunRecord, 'at' | 'name' | 'input' | 'options'>): BatchRunRecord => ({
    at: new Date().toISOString(),
    name: job.outName,
    input: redactSecrets(job.url),
    ...job.file,
    options: optionsOf(job),
    ...fields,
  });

  // Made once the inputs are known (below); warnings before it go straight to stderr.
  let progress: Progress | undefined;
  const pipeline = new Pipeline({
    model,
    sources: [],
    mode: 'batch',
    workers,
    backend: backendFlag(v.backend),
    precision,
    threadsPerFrame,
    stride,
    detect: { thresh, nms },
    classes: parseClassesOption(v.classes),
    classesLabel: '--classes',
    countIntervalMs: intervalSec * 1000,
    // Between the progress bar's redraws on a terminal, not run into it.
    warn: (source, message) => sayWarning(source, message, progress),
  });

  /** The signal that stopped the inputs: their outputs are partial. */
  let signal: NodeJS.Signals | undefined;
  /** The one that stopped the drawing of annotated videos: only the videos are short, not the data. */
  let drawSignal: NodeJS.Signals | undefined;
  /** Set while annotated videos are drawn (after the inputs, or after an interrupt). */
  let annotating: AbortController | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (annotating && !annotating.signal.aborted) {
      // The video being drawn is finished with the frames so far (valid), the others are skipped.
      drawSignal = sig;
      annotating.abort();
      return;
    }
    if (signal ?? drawSignal) {
      // Asked twice: leave now, but not without a word (it exited silently, the video being drawn still
      // in its encoder, which finishes it a moment after).
      const drawing = annotating !== undefined;
      const dir = relative(process.cwd(), outDir) || '.';
      // Stopped only while drawing, the data files were already whole.
      const outputs = signal ? `outputs in ${dir} are valid but partial` : `the data outputs in ${dir} are complete, the annotated videos not`;
      process.stderr.write(
        `error: interrupted again by ${sig}: left at once; ${outputs}${drawing ? ' (the annotated video being drawn is finished by its encoder a moment later)' : ''}\n`,
      );
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    signal = sig;
    void pipeline.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // Batch runs the live tracker defaults: how long a lost track lingers before it ends (and its movement is told).
  const lostMs = lostTrackMs();
  const startedAt = performance.now();
  await pipeline.start();
  const total = toRun.every((i) => i.estimatedFrames > 0) ? toRun.reduce((a, i) => a + Math.ceil(i.estimatedFrames / stride), 0) : undefined;
  progress = createProgress('batch', total, { unit: 'frames' });
  let processed = 0;

  interface Outputs {
    job: InputJob;
    url: string;
    jsonl: DetectionsJsonl;
    events: EventsJsonl;
    mot: MotTracksWriter;
    counts: CountsCsvWriter;
    movements?: MovementsCsvWriter;
    speeds?: SpeedStudyWriter;
    base: string;
    /** Its data files' names (the annotated video is drawn after). */
    written: string[];
    startMs?: number;
    /** Last frame with a result, -1 before the first. */
    lastFrame: number;
    /** Its time in the input (ms from the start of the file), and the first frame's: the video covered so far. */
    lastPtsMs: number;
    firstPtsMs: number;
  }
  const outputs = new Map<string, Outputs>();
  // An output that cannot be written (a full disk, a folder where a file should go) stops the run and is
  // reported in one line once the pipeline has stopped, not thrown from inside an event handler.
  let writeFailure: unknown;
  const failWrites = (e: unknown) => {
    if (writeFailure !== undefined) return;
    writeFailure = e;
    void pipeline.stop();
  };
  pipeline.on('result', (r: FrameResult) => {
    const o = outputs.get(r.frame.source);
    if (!o || writeFailure !== undefined) return;
    try {
      dateEvents(r.events, o.startMs);
      o.jsonl.write(r);
      o.events.write(r.events);
      o.mot.write(r);
      o.counts.write(r);
      o.movements?.write(r);
      o.speeds?.write(r);
    } catch (e) {
      failWrites(e);
      return;
    }
    o.lastFrame = r.frame.seq;
    o.lastPtsMs = Math.max(o.lastPtsMs, r.frame.ptsMs);
    o.firstPtsMs = Math.min(o.firstPtsMs, r.frame.ptsMs);
    processed++;
    progress.update(processed);
  });

  const ends: (SourceEnd & { url: string; base: string; lastFrame: number; record: BatchRunRecord })[] = [];
  const queue = [...toRun];
  let active = 0;
  const allDone = new Promise<void>((resolveAll) => {
    const next = async (): Promise<void> => {
      while (!signal && writeFailure === undefined && active < jobs && queue.length) {
        const job = queue.shift()!;
        active++;
        try {
          await pipeline.addSource({ url: job.url, name: job.outName, mode: 'batch', lines, zones, calibration, movements }, (name) => {
            const base = join(outDir, name);
            // Every table: the same counted classes, the same clock.
            const table = { classes: pipeline.counts(name)?.classes, startMs: job.start?.ms, utcOffsetMin: job.start?.offsetMin };
            const suffixes = ['.detections.jsonl', '.events.jsonl', '.tracks.txt', '.counts.csv', ...(movements ? ['.movements.csv'] : []), ...(speeds ? ['.speeds.csv', '.crossings.csv'] : []), ...(v.annotate ? ['.annotated.mp4'] : [])];
            sayOutputs(job, name, base, suffixes);
            // Before any file is touched: until its end is written its files are not whole, and a run killed
            // outright leaves this its last word.
            appendBatchRun(outDir, runRecord(job, { status: 'running' }));
            // An earlier run's files this one does not write (its movements of other lines, a video drawn from
            // other detections) would pass for this run's beside the fresh ones: moved aside, said.
            // With --annotate this run draws its own, after the input: until then, or if it is stopped
            // before (SIGTERM, SIGKILL, an input that fails), the earlier one must not sit beside the new
            // detections as if drawn from them; moved aside with the rest, not deleted (hours of drawing).
            const movedAside = moveAsideStale(outDir, name, suffixes.filter((sfx) => !(v.annotate && sfx === '.annotated.mp4')));
            if (movedAside.length) {
              const shown = relative(process.cwd(), base) || base;
              const redrawn = movedAside.filter((f) => v.annotate && f.endsWith('.annotated.mp4'));
              const why = redrawn.length === movedAside.length ? 'this run draws its own after the input' : redrawn.length ? `this run does not write them; ${redrawn[0]} it draws anew after the input` : 'this run does not write them';
              process.stderr.write(`batch: ${shown}.*: moved ${movedAside.join(', ')} of an earlier run to ${join(shownDir, SUPERSEDED_DIR)}/ (${why})\n`);
            }
            if (v.annotate) rmSync(annotatePartialPath(`${base}.annotated.mp4`), { force: true });
            outputs.set(name, {
              job,
              url: job.url,
              base,
              written: suffixes.filter((sfx) => sfx !== '.annotated.mp4').map((sfx) => name + sfx),
              jsonl: new DetectionsJsonl(`${base}.detections.jsonl`),
              events: new EventsJsonl(`${base}.events.jsonl`),
              mot: new MotTracksWriter(`${base}.tracks.txt`),
              counts: new CountsCsvWriter(`${base}.counts.csv`, intervalSec * 1000, lineNames, table),
              ...(movements ? { movements: new MovementsCsvWriter(`${base}.movements.csv`, intervalSec * 1000, lineNames, lostMs, table) } : {}),
              ...(speeds ? { speeds: new SpeedStudyWriter(base, intervalSec * 1000, lineNames, { ...table, ...speeds }) } : {}),
              startMs: job.start?.ms,
              lastFrame: -1,
              lastPtsMs: 0,
              firstPtsMs: Infinity,
            });
          });
        } catch (e) {
          active--;
          failWrites(e);
        }
      }
      if (active === 0) resolveAll();
    };
    // Events not tied to a frame: source up/down (left out below) and, just before the input's 'source-end',
    // the zone exits of vehicles still inside when it ended.
    pipeline.on('events', (e: SourceEvents) => {
      const o = outputs.get(e.source);
      if (!o || writeFailure !== undefined) return;
      try {
        // Traffic only: source up/down are the run's own state (an input that fails says so in the run's
        // last line).
        const traffic = e.events.filter((ev) => ev.type !== 'source-up' && ev.type !== 'source-down');
        dateEvents(traffic, o.startMs);
        o.events.write(traffic);
        o.movements?.events(traffic);
      } catch (err) {
        failWrites(err);
      }
    });
    pipeline.on('source-end', (end: SourceEnd) => {
      const o = outputs.get(end.source);
      if (!o) return;
      // Stopped part way, its tables get no totals: they are not the input's.
      const whole = end.state !== 'stopped';
      const problem = problemReason(end, stride);
      const record = runRecord(o.job, {
        status: end.state === 'stopped' ? 'partial' : problem ? 'failed' : 'complete',
        ...(end.state === 'stopped' ? { stoppedBy: signal ?? 'a write failure', stoppedAtSec: o.lastFrame >= 0 ? Math.round(o.lastPtsMs) / 1000 : 0 } : {}),
        ...(problem ? { error: problem } : {}),
        frames: end.frames,
        processed: end.processed,
        videoSec: o.lastFrame >= 0 ? Math.round(o.lastPtsMs - o.firstPtsMs) / 1000 : 0,
        ...(v.annotate ? { annotated: 'to draw' as const } : {}),
      });
      try {
        o.jsonl.close();
        o.events.close();
        o.mot.close();
        o.counts.close(whole);
        o.movements?.close(whole);
        o.speeds?.close(whole);
        record.files = fileSizes(outDir, o.written);
        appendBatchRun(outDir, record);
      } catch (e) {
        failWrites(e);
      }
      ends.push({ ...end, url: o.url, base: o.base, lastFrame: o.lastFrame, record });
      active--;
      void next();
    });
    void next();
  });
  await allDone;
  await pipeline.close();
  if (writeFailure !== undefined) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw writeFailure;
  }
  // How much faster than real time: what a batch is for, said with the video's length and the time taken.
  // From each input's first frame: a file whose video starts 4 s in (after its audio) is not 4 s longer.
  const videoSec = [...outputs.values()].reduce((a, o) => a + (o.lastFrame >= 0 ? (o.lastPtsMs - o.firstPtsMs) / 1000 : 0), 0);
  const tookSec = (performance.now() - startedAt) / 1000;
  const pace = videoSec > 0 && tookSec > 0 ? ` (${duration(videoSec)} of video in ${duration(tookSec)}, ${(videoSec / tookSec).toFixed(1)}× real time)` : '';
  // Stopped by a signal, the line says so (it read as a finished run, the error line after it).
  const skippedSaid = skipped.length ? `, ${skipped.length} skipped (done before)` : '';
  progress.finish(`batch: ${processed} frames from ${ends.length} input${ends.length === 1 ? '' : 's'}${pace}${skippedSaid}${signal ? `, stopped by ${signal}` : ''} → ${shownDir}`);

  let annotateError: string | undefined;
  /** Videos a signal cut short of their detections, or left undrawn: named in the run's last line. */
  const cut: VideosCut = { short: [], notDrawn: [] };
  if (v.annotate) {
    annotating = new AbortController();
    /** batch-runs.jsonl says what became of an input's video (and its size, when one was written). */
    const noteVideo = (e: (typeof ends)[number], annotated: AnnotatedStatus, video?: string) =>
      appendBatchRun(outDir, { ...e.record, at: new Date().toISOString(), annotated, files: { ...e.record.files, ...(video ? fileSizes(outDir, [basename(video)]) : {}) } });
    for (const e of ends) {
      if (e.state === 'failed') {
        noteVideo(e, 'not drawn');
        continue;
      }
      const path = `${e.base}.annotated.mp4`;
      // A stopped input is drawn up to its last result, not on through frames it never reached, and keeps the
      // partial name: a video of part of an input must not pass for the whole one.
      const lastFrame = e.state === 'stopped' ? e.lastFrame : undefined;
      // SIGTERM is a supervisor stopping the job (docker stop allows 10 s): no second decode and encode then.
      const skippedBy = annotating.signal.aborted ? drawSignal : signal === 'SIGTERM' ? signal : undefined;
      if (skippedBy || lastFrame === -1) {
        process.stderr.write(`batch: ${path} not written (${skippedBy ? `stopped by ${skippedBy}` : signal ? `stopped by ${signal}` : 'no frame done'})\n`);
        if (skippedBy) cut.notDrawn.push(path);
        noteVideo(e, 'not drawn');
        continue;
      }
      process.stderr.write(
        lastFrame === undefined ? `batch: drawing boxes → ${path}\n` : `batch: drawing boxes on the ${lastFrame + 1} frames done → ${annotatePartialPath(path)} (Ctrl-C to stop)\n`,
      );
      // A second decode and an encode: minutes for a long recording, so it gets a bar of its own. Its total is
      // the frames up to the last result (with --stride the few after it make the bar end a little past 100 %).
      const bar = createProgress('annotate', e.lastFrame + 1, { unit: 'frames' });
      let r: Awaited<ReturnType<typeof annotateVideo>>;
      try {
        r = await annotateVideo(parseSource(e.url).input, `${e.base}.detections.jsonl`, path, { lastFrame, whole: lastFrame === undefined, signal: annotating.signal, onFrame: (n) => bar.update(n), overlay: { lines, zones } });
      } catch (err) {
        bar.finish(`batch: ${path} not written`);
        annotateError ??= (err as Error).message;
        noteVideo(e, 'failed');
        continue;
      }
      // A variable-rate input can bring two frames within one period of the constant-rate video: said, not counted as drawn.
      const leftOut = r.leftOut ? `, ${r.leftOut} left out (a second frame within one period of the video's constant rate)` : '';
      bar.finish(r.complete ? `batch: ${r.path}: ${r.frames} frames drawn${leftOut}` : `batch: ${r.path} stopped by ${drawSignal}: it shows the first ${r.frames} frames${leftOut}`);
      // Input frames reached (drawn or left out), of those its detections cover.
      if (!r.complete) cut.short.push(`${r.path} (the first ${r.frames + r.leftOut} of ${lastFrame === undefined ? e.frames : lastFrame + 1} frames)`);
      noteVideo(e, r.path === path ? 'complete' : 'partial', r.path);
    }
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  // In the order the inputs were given (they end in any order when decoded side by side).
  const given = new Map(inputs.map((j, i) => [j.url, i]));
  ends.sort((a, b) => (given.get(a.url) ?? 0) - (given.get(b.url) ?? 0));
  // One line per input with a problem, naming it, what happened and what its outputs cover.
  const problems = ends.map((e) => problemOf(e, stride)).filter((p) => p !== undefined);
  // Said again at the end: the lines at the start have scrolled away under the progress by then.
  if (unreadable.length) problems.push(`${unreadable.length} of ${args.positionals.length} inputs not processed (see above): ${unreadable.map(redactSecrets).join(', ')}`);
  if (annotateError) problems.push(annotateError);
  for (const p of problems) fatal(p);
  // A signal that came as the last video was finished cut nothing: the run is whole.
  const stoppedBy = signal ?? (cut.short.length || cut.notDrawn.length ? drawSignal : undefined);
  if (stoppedBy) {
    const named = (list: { url: string }[]) => list.map((j) => redactSecrets(j.url));
    fatal(
      interruptedLine(stoppedBy, {
        dir: shownDir,
        processed,
        dataStopped: signal !== undefined,
        partial: named(ends.filter((e) => e.state === 'stopped')),
        // An input with a problem has its own line, saying what its outputs cover.
        complete: named(ends.filter((e) => e.state === 'finished' && problemOf(e, stride) === undefined)),
        notStarted: named(queue),
        skipped: named(skipped),
        cut,
        problems: problems.length > 0,
      }),
    );
    return stoppedBy === 'SIGINT' ? 130 : 143;
  }
  return problems.length ? 1 : 0;
}

interface VideosCut {
  /** `out/a.annotated.mp4 (the first 301 of 500 frames)`: stopped before the end of its detections. */
  short: string[];
  notDrawn: string[];
}

/**
 * The last line of a run a signal stopped: which outputs are complete and which are short, so that nothing
 * whole is taken for partial (a Ctrl-C while drawing leaves every data file complete) nor the reverse.
 */
function interruptedLine(
  sig: NodeJS.Signals,
  o: { dir: string; processed: number; dataStopped: boolean; partial: string[]; complete: string[]; notStarted: string[]; skipped: string[]; cut: VideosCut; problems: boolean },
): string {
  const listed = (label: string, names: string[]) => (names.length ? [`${label}: ${listNames(names, 3)}`] : []);
  const videos = [...listed('annotated video short', o.cut.short), ...listed('annotated video not drawn', o.cut.notDrawn)];
  if (!o.dataStopped) {
    const others = `the other outputs in ${o.dir} are complete${o.problems ? ' (but for the inputs named above)' : ''}`;
    return [`interrupted by ${sig} while drawing annotated videos: ${others}`, ...videos].join('; ');
  }
  return [
    `interrupted by ${sig}: stopped after ${o.processed} frames; outputs in ${o.dir} are valid`,
    ...listed('partial', o.partial),
    ...listed('complete', o.complete),
    ...listed('skipped (done before)', o.skipped),
    ...videos,
    // Inputs never started have no outputs at all: named, so a rerun can be given just those.
    ...listed('not started', o.notStarted),
  ].join('; ');
}

/** A recording is probed (a 404 or a file that is no video found only after starting left empty outputs); cameras are not. */
async function checkInput(url: string, startTime: StartTime | undefined): Promise<InputJob> {
  const s = parseSource(url);
  let probed: Awaited<ReturnType<typeof probeVideo>> | undefined;
  if (s.kind === 'file' || s.kind === 'http') {
    try {
      probed = await probeVideo(s.input, s.inputOptions);
    } catch (e) {
      throw new UserError(`${redactSecrets(url)}: ${(e as Error).message}`);
    }
  }
  // Its own line (naming the input) when --start-time file finds no creation_time.
  const start = startTime === undefined ? undefined : recordingStart(startTime, redactSecrets(url), probed?.creationTime);
  const name = fitName(s.name);
  const file = s.kind === 'file' ? inputFile(s.input) : undefined;
  return { url, name, outName: name, shortened: name !== s.name, estimatedFrames: probed?.estimatedFrames ?? 0, fps: probed?.fps ?? 0, start, file };
}

/** The line for an input that did not end cleanly, or undefined. */
function problemOf(e: SourceEnd & { url: string }, stride: number): string | undefined {
  const reason = problemReason(e, stride);
  return reason && `${redactSecrets(e.url)}: ${reason}`;
}

/** What went wrong with an input that did not end cleanly (its line without its name, as batch-runs.jsonl has it), or undefined. */
function problemReason(e: SourceEnd, stride: number): string | undefined {
  if (e.state === 'failed') {
    // ffmpeg's last word on a file with an index and no frames is about its filters, not the file.
    return e.damaged ? `truncated or corrupt input (${e.damaged}); no frame could be decoded` : `cannot decode (${e.error ?? 'ffmpeg failed'})`;
  }
  if (e.damaged) return `truncated or corrupt input (${e.damaged}); outputs cover the ${framesCovered(e, stride)}`;
  // Frames the detector could not do are in the outputs with no detections (and an "error" in the
  // detections file): counts made over them are short, so the run does not pass for a clean one.
  if (e.detectFailures > 0) return `detection failed on ${e.detectFailures} of ${e.processed} frames (${e.detectError ?? 'unknown error'}); they are in the outputs with no detections`;
  return undefined;
}

/**
 * --skip-done: the inputs whose earlier outputs in `outDir` are whole and of this very file and these options,
 * each said in a line (`batch: a.mp4: skipped: done at …`); one done again after an earlier run says why.
 */
function skipDone(inputs: readonly InputJob[], outDir: string, shownDir: string, optionsOf: (job: InputJob) => Record<string, unknown>): InputJob[] {
  const earlier = lastBatchRuns(outDir);
  const skipped: InputJob[] = [];
  for (const job of inputs) {
    const verdict = earlierVerdict(earlier.get(job.outName), job.file, optionsOf(job), outDir);
    const url = redactSecrets(job.url);
    if (verdict.done) {
      skipped.push(job);
      process.stderr.write(`batch: ${url}: skipped: done at ${verdict.at} (${join(shownDir, job.outName)}.*, ${join(shownDir, BATCH_RUNS_FILE)})\n`);
    } else if (verdict.why) {
      process.stderr.write(`batch: ${url}: done again: ${verdict.why}\n`);
    }
  }
  return skipped;
}

/** With --stride, frames decoded and frames detected differ: both said, each by its name. */
function framesCovered(e: SourceEnd, stride: number): string {
  return stride > 1 ? `${e.frames} frames decoded (${e.processed} of them detected, --stride ${stride})` : `${e.processed} frames decoded`;
}

/** 42 s, 3 min 05 s, 2 h 10 min. */
function duration(sec: number): string {
  if (sec < 59.5) return `${sec.toFixed(sec < 9.95 ? 1 : 0)} s`;
  const s = Math.round(sec);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const m = Math.round(sec / 60);
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/**
 * A live pipeline writing in the same folder (a container's out/ is both) has files of its sources' names there:
 * a recording of the same name would write over its counts CSV, truncated under it while it appends. Checked
 * once, before the run, by the names its outputs will have (`-2` ones included; not a source a reload adds
 * meanwhile): the common case, a recording of a camera's name, is caught.
 */
function refuseLiveFiles(outDir: string, names: readonly string[]): void {
  const { holder, clash } = heldNames(outDir, undefined, names);
  if (!holder) return;
  const files = clash.map((n) => `${join(outDir, n)}.counts.csv`).join(', ');
  const sources = clash.map((n) => `'${n}'`).join(', ');
  throw new UserError(`-o ${outDir}: a live xnorcam run (${describeHolder(holder)}) writes there for source ${sources}: this batch would write over ${files} and its other files; choose another --out`, 2);
}

/**
 * Refuses a folder another batch is writing the same names in (two such batches interleaved their JSONL lines and broke
 * each other's CSV rows, both exiting 0), else claims it until this process exits. A batch killed outright leaves
 * a lock whose process is gone, which does not count.
 *
 * Its lock is written, marked `claiming`, before the others are read: of two batches claiming at the same moment,
 * the later reader always sees the earlier writer (looking first and writing after let both see nothing, and both
 * write). One that sees nothing marks its lock claimed and goes on. One that sees a claimed lock is refused at once;
 * one that sees only other claiming locks steps back, as they do, and tries again after a random wait, so that one
 * goes first. (Stepping back from a claimed lock too, and trying again, let the later batch outwait a short run of
 * the earlier one and write the same files after it, both exiting 0.)
 */
async function claimForBatch(outDir: string, names: readonly string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const t0 = Date.now();
    const lock = new OutputLock(outDir, () => names, batchLockFile(), { claiming: true });
    const other = otherBatch(outDir, names);
    if (!other) {
      lock.claimed();
      // On every way out, a second Ctrl-C's process.exit included.
      process.once('exit', () => lock.release());
      return;
    }
    lock.release();
    if (!other.holder!.claiming || attempt >= CLAIM_ATTEMPTS) {
      throw new UserError(`-o ${outDir}: another xnorcam batch (${describeHolder(other.holder!)}) is writing the outputs of ${listNames(other.clash, 3)} there: two writing one file corrupt it; wait for it to end, or choose another --out`, 2);
    }
    await new Promise((r) => setTimeout(r, Math.random() * (Date.now() - t0 + 50) * 2 ** attempt));
  }
}

const CLAIM_ATTEMPTS = 4;

/** Another batch's lock in `dir` that claims any of `names`: one that has claimed them before one still claiming. */
function otherBatch(dir: string, names: readonly string[]): { holder?: OutputLockInfo; clash: string[] } | undefined {
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => BATCH_LOCK_RE.test(f));
  } catch {
    // no folder yet: no other batch in it
  }
  let claiming: { holder?: OutputLockInfo; clash: string[] } | undefined;
  for (const file of files) {
    const held = heldNames(dir, file, names);
    if (held.holder && !held.holder.claiming) return held;
    if (held.holder) claiming ??= held;
  }
  return claiming;
}

/**
 * Each input's outputs' name, as the pipeline names its sources: a second `cam1` (another day's folder) is `cam1-2`.
 * Worked out before the folder is claimed, so the claim names the files this run writes, `-2` ones included.
 */
function assignOutputNames(inputs: InputJob[]): void {
  const taken = new Set<string>();
  for (const job of inputs) {
    let name = job.name;
    for (let k = 2; taken.has(name); k++) name = `${job.name}-${k}`;
    taken.add(name);
    job.outName = name;
  }
}

/** The holder of a lock in `dir` whose sources include any of `names`, and those names; no holder when none does. */
function heldNames(dir: string, file: string | undefined, names: readonly string[]): { holder?: OutputLockInfo; clash: string[] } {
  const holder = outputLockHolder(dir, file);
  const clash = holder ? names.filter((n) => holder.sources.includes(n)) : [];
  return clash.length ? { holder, clash } : { clash };
}

/** Room in a 255-byte file name for the longest suffix (.annotated.partial.mp4) and a `-NNN` for a repeated name. */
const MAX_NAME_BYTES = 255 - '.annotated.partial.mp4'.length - 4;

/**
 * An input's name cut to fit a file name with its suffixes (a very long name stopped the run with ENAMETOOLONG,
 * the other inputs' files left empty), ending in a hash of the whole name so two long names alike in their
 * first 200 bytes stay apart.
 */
function fitName(name: string): string {
  if (Buffer.byteLength(name) <= MAX_NAME_BYTES) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  const chars = [...name];
  while (Buffer.byteLength(chars.join('')) > MAX_NAME_BYTES - hash.length - 1) chars.pop();
  return `${chars.join('')}~${hash}`;
}

/**
 * An input's warning (a line or calibration point off its picture, speeds in the wrong unit): a `batch:` line like
 * the run's others, or a log record where the JSON log format was asked for, as fatal() does.
 */
function sayWarning(source: string, message: string, progress: Progress | undefined): void {
  if (process.env.XNORCAM_LOG_FORMAT === 'json') logger.warn(message, { source });
  else if (progress) progress.say(`batch: ${source}: ${message}`);
  else process.stderr.write(`batch: ${source}: ${message}\n`);
}

/**
 * Says which name an input's outputs have when it is not its own (a second `cam1.mp4`, from another day's
 * folder, writes `cam1-2.*`), and which files of an earlier run this one replaces: an archive's days share
 * their camera names, and a later batch into the same folder silently replaced an earlier one's results.
 */
function sayOutputs(job: InputJob, name: string, base: string, suffixes: readonly string[]): void {
  const shown = relative(process.cwd(), base) || base;
  const why = [job.shortened ? "its name shortened to fit the file system's 255-byte limit on a file name" : '', name !== job.name ? `an input before it has the name ${job.name}` : ''];
  if (job.shortened || name !== job.name) process.stderr.write(`batch: ${redactSecrets(job.url)} → ${shown}.* (${why.filter(Boolean).join('; ')})\n`);
  const replaced = suffixes.filter((s) => existsSync(base + s));
  if (replaced.length) process.stderr.write(`batch: ${shown}.*: replacing the outputs of an earlier run (${replaced.map((s) => name + s).join(', ')})\n`);
}
