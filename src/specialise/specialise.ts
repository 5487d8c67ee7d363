import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { createProgress, formatSeconds } from '../core/progress.js';
import { logger } from '../core/log.js';
import { writeAtomically } from '../core/write-atomically.js';
import { loadDetector, type EngineDetector } from '../detect/detector.js';
import { decodeImageFile } from '../detect/preprocess.js';
import { loadDarknetModel } from '../engine/load.js';
import { absoluteSource } from '../ingest/source-spec.js';
import { encodeModel } from '../engine/model-file/format.js';
import { runTrainer, trainerOutcome, trainerOutcomeError } from '../train/trainer-process.js';
import type { BoxLoss } from '../train/box-loss.js';
import { BF16_ARG, type TrainPrecision } from '../train/precision.js';
import { agreement, vehicleAgreement, type Agreement, type LabelledBox } from './agreement.js';
import { TRAFFIC_CLASSES, teacherClassMap } from './class-map.js';
import { labelWithTeacher, writeYoloDataset, type LabelledFrame, type UnsureChoice } from './pseudo-label.js';
import { sampleFrames, samplingInterval, splitByTime, type SampledFrame } from './sample-frames.js';
import { teacherStability } from './teacher-stability.js';
import { checkWorkOptions, recordWorkOptions, workOptions } from './work-options.js';
import { STUDENT_CHECKPOINT_CHOICE } from './student-checkpoint.js';
import { trainerSize, type StudentInput } from './student-input.js';

/** The trainer's --flip values. */
export const FLIP_CHOICES = ['on', 'off'] as const;
export type Flip = (typeof FLIP_CHOICES)[number];

export interface SpecialiseOptions {
  teacherCfg: string;
  teacherWeights: string;
  teacherNames?: string;
  source: string;
  frames: number;
  minutes?: number;
  classes: string[];
  /** Starting point: a trainer checkpoint, or null to train from scratch. */
  init: string | null;
  baseModel: string | null;
  /** A packed model to score on the same held-out frames for comparison (the bundled model). */
  compareWith?: string | null;
  out: string;
  work: string;
  trainMinutes: number;
  teacherThresh: number;
  /** Teacher boxes scored in [teacherIgnore, teacherThresh) are the ones it was unsure of (0: none). */
  teacherIgnore: number;
  /** What the student is taught about the teacher's unsure boxes (ignore regions, background, by neighbouring frames, or soft labels). */
  unsure: UnsureChoice;
  /** The student's input size: auto (from the camera's frames), base (the base checkpoint's), teacher (the teacher's) or WxH. */
  studentInput: StudentInput;
  holdout: number;
  backend?: string;
  /**
   * The student's training arithmetic: bf16 = bfloat16 autocast (the trainer's --bf16), auto = bf16
   * where the CPU computes it natively (1.7-1.85x the steps per minute on an AMX Xeon), else fp32.
   */
  trainPrecision: TrainPrecision;
  /** The student's box regression term (the trainer's --box-loss). */
  boxLoss: BoxLoss;
  /** Mirror half of the training frames (the trainer's --flip); off: only the camera's own view. */
  flip: Flip;
  /** Largest random zoom-in of a training frame (the trainer's --zoom; 1: none). */
  zoom: number;
  /**
   * PyTorch device the student trains on (the trainer's --device; default cpu). Not among the work
   * folder's options: an interrupted run may resume on another device.
   */
  trainDevice?: string;
  /** Extra trainer arguments (tests: --max-steps). */
  trainerArgs?: string[];
}

/**
 * The student against the teacher on the training frames its operating threshold was chosen on (operatingPointFrames),
 * at that threshold: what it learned, to read the held-out figure against. The gap bounds what more footage could buy,
 * without saying how much of it footage will buy (docs/specialise.md, Measured).
 */
export interface TrainingFramesAgreement {
  frames: number;
  vehicles: Agreement;
}

export interface SpecialiseReport {
  source: string;
  teacher: { cfg: string; weights: string; msPerFrame: number };
  /**
   * thresh: the student's operating point, chosen on training frames (pipelines and `xnorcam detect` apply it from the
   * model card); input: its network input, WxH.
   */
  student: { model: string; msPerFrame: number; base: string | null; thresh: number; input: string };
  /**
   * trainSec / heldOutSec: the seconds of the source's time range the training and the held-out frames cover (a sampling
   * interval per frame): what the student saw, and what judged it.
   */
  frames: { train: number; validation: number; teacherBoxes: number; trainSec: number; heldOutSec: number };
  /**
   * vehicles: the headline figure; vehiclesIgnoringUncertain: the same, but a student box on an object the
   * teacher saw below its threshold is not a false positive; exactClass: classes must match too.
   */
  agreement: { vehicles: Agreement; vehiclesIgnoringUncertain: Agreement; exactClass: Agreement; iou: number; onTrainingFrames: TrainingFramesAgreement };
  /** The teacher against itself on the same held-out frames mirrored: the ceiling for the student's agreement. */
  teacherStability: Agreement;
  /** The comparison model (the bundled one) on the same held-out frames, untrained for this view. */
  baseline?: { model: string; msPerFrame: number; thresh: number; vehicles: Agreement; vehiclesIgnoringUncertain: Agreement; exactClass: Agreement };
  trainingSeconds: number;
}

/** Each step records its result in the work folder, so an interrupted run picks up where it stopped. */
function step<T>(file: string, make: () => Promise<T>): Promise<T> {
  if (existsSync(file)) return Promise.resolve(JSON.parse(readFileSync(file, 'utf8')) as T);
  return make().then((value) => {
    writeAtomically(file, JSON.stringify(value));
    return value;
  });
}

async function trainStudent(args: string[]): Promise<void> {
  const outcome = trainerOutcome(await runTrainer(args));
  if (outcome.kind !== 'done') throw trainerOutcomeError(outcome, "the student's training", 'run the same command again to resume');
}

function timeDetections(det: EngineDetector, frames: LabelledFrame[], thresh: number): Promise<{ labels: LabelledBox[][]; msPerFrame: number }> {
  return (async () => {
    const labels: LabelledBox[][] = [];
    let ms = 0;
    for (const f of frames) {
      const img = await decodeImageFile(f.file);
      const t0 = performance.now();
      const dets = det.detectImage(img, { thresh });
      ms += performance.now() - t0;
      labels.push(dets.map((d) => ({ className: d.className, score: d.score, box: d.box })));
    }
    return { labels, msPerFrame: frames.length ? ms / frames.length : 0 };
  })();
}

/** A model's agreement figures on the held-out frames (the report's, for the student and the bundled model alike). */
function heldOutFigures(validation: LabelledFrame[], labels: LabelledBox[][]): { vehicles: Agreement; vehiclesIgnoringUncertain: Agreement; exactClass: Agreement } {
  const pairs = validation.map((f, i) => ({ teacher: f.labels, student: labels[i], uncertain: f.uncertain }));
  return { vehicles: vehicleAgreement(pairs), vehiclesIgnoringUncertain: vehicleAgreement(pairs, 0.5, true), exactClass: agreement(pairs) };
}

/**
 * The seconds of footage the training frames and the held-out frames cover (see SpecialiseReport.frames): each frame
 * stands for one sampling interval, as frames are spread evenly over the time range (a live camera's outages, which
 * sampled nothing, not counted).
 */
function footageSpans(train: readonly { timeSec: number }[], validation: readonly { timeSec: number }[]): { trainSec: number; heldOutSec: number } {
  const interval = samplingInterval([...train, ...validation]);
  return { trainSec: train.length * interval, heldOutSec: validation.length * interval };
}

/**
 * Operating points tried, 0.05 to 0.95 in steps of 0.05. A coarser grid that stopped at 0.8 cut students off
 * while their agreement on the training frames was still rising (intersection clip: 0.838 at 0.8, 0.841 at 0.85).
 */
export const THRESHOLD_CANDIDATES: readonly number[] = Array.from({ length: 19 }, (_, i) => ((i + 1) * 5) / 100);

/**
 * A model's scores are not calibrated like the teacher's, so each model is judged at its own operating
 * point: the score threshold with the best vehicle agreement on (up to 150 of) the TRAINING frames.
 * The held-out frames never influence it.
 */
async function pickThreshold(det: EngineDetector, trainFrames: LabelledFrame[]): Promise<{ thresh: number; onTrainingFrames: TrainingFramesAgreement }> {
  const frames = operatingPointFrames(trainFrames);
  const run = await timeDetections(det, frames, THRESHOLD_CANDIDATES[0]);
  const at = (thresh: number) => ({
    thresh,
    vehicles: vehicleAgreement(frames.map((f, i) => ({ teacher: f.labels, student: run.labels[i].filter((b) => b.score >= thresh) }))),
  });
  let best = at(THRESHOLD_CANDIDATES[0]);
  for (const thresh of THRESHOLD_CANDIDATES.slice(1)) {
    const tried = at(thresh);
    if (tried.vehicles.f1 > best.vehicles.f1) best = tried;
  }
  return { thresh: best.thresh, onTrainingFrames: { frames: frames.length, vehicles: best.vehicles } };
}

/** The training frames an operating point is chosen on: every k-th, at most 150 (140 of 420, 76 of 151). */
export function operatingPointFrames<T>(trainFrames: readonly T[]): T[] {
  const stride = Math.max(1, Math.ceil(trainFrames.length / 150));
  return trainFrames.filter((_, i) => i % stride === 0);
}

/**
 * Specialises an XNOR student to one camera view, taught by a float teacher: frames spread over
 * time, labelled by the teacher through xnorcam's engine, split by time (the last part judges),
 * a student trained from the base model, packed, and scored against the teacher on held-out frames.
 */
export async function specialise(given: SpecialiseOptions): Promise<SpecialiseReport> {
  const fresh = !existsSync(given.work);
  try {
    return await specialiseIn(given);
  } catch (e) {
    // A bad source or option found before anything was kept: leave no empty work folder behind.
    if (fresh && holdsNoFiles(given.work)) rmSync(given.work, { recursive: true, force: true });
    throw e;
  }
}

function holdsNoFiles(dir: string): boolean {
  if (!existsSync(dir)) return false;
  return readdirSync(dir, { withFileTypes: true }).every((d) => d.isDirectory() && holdsNoFiles(join(dir, d.name)));
}

async function specialiseIn(given: SpecialiseOptions): Promise<SpecialiseReport> {
  // The trainer runs from the repository's folder (it is a Python package there), so the paths handed to it
  // must not depend on the folder this command was started in.
  const absolute = (p: string | null) => (p ? resolve(p) : null);
  const o: SpecialiseOptions = { ...given, work: resolve(given.work), init: absolute(given.init), baseModel: absolute(given.baseModel) };
  mkdirSync(o.work, { recursive: true });
  const options = workOptions(o);
  const recorded = checkWorkOptions(o.work, options);
  const teacher = await loadDetector({ cfg: o.teacherCfg, weights: o.teacherWeights, names: o.teacherNames }, { backend: o.backend });
  const classMap = teacherClassMap(teacher.classNames, o.classes);
  // The student always has the six traffic classes (so it can start from the bundled model);
  // classes left out of --classes simply get no labels.
  const studentClasses = [...TRAFFIC_CLASSES];
  const toStudent = Int32Array.from(classMap, (k) => (k < 0 ? -1 : studentClasses.indexOf(o.classes[k] as (typeof TRAFFIC_CLASSES)[number])));

  const sampleBar = createProgress('sampling frames', o.frames, { unit: 'frames' });
  // A camera's watch records them with its first frame: an interrupted watch resumes from the frames it kept.
  const recordOptions = () => recordWorkOptions(o.work, options, recorded);
  const frames = await step<SampledFrame[]>(join(o.work, 'frames.json'), () =>
    sampleFrames(o.source, join(o.work, 'frames'), { count: o.frames, minutes: o.minutes, onProgress: (n) => sampleBar.update(n), beforeFirstFrame: recordOptions }),
  );
  recordOptions();
  sampleBar.finish(`sampled ${frames.length} frames over ${formatSeconds(frames.length * samplingInterval(frames))} of footage`);

  const labelBar = createProgress('teacher labelling', frames.length, { unit: 'frames' });
  const labelled = await step<LabelledFrame[]>(join(o.work, 'labels.json'), () =>
    labelWithTeacher(frames, teacher, toStudent, studentClasses, { thresh: o.teacherThresh, ignoreBelow: o.teacherIgnore || undefined, onProgress: (n) => labelBar.update(n) }),
  );
  const teacherBoxes = labelled.reduce((n, f) => n + f.labels.length, 0);
  labelBar.finish(`teacher labelled ${labelled.length} frames, ${teacherBoxes} boxes`);
  if (teacherBoxes === 0) throw new UserError(`${redactSecrets(o.source)}: the teacher found none of ${o.classes.join(', ')} in ${labelled.length} frames; check the teacher model and --classes`);

  const { train, validation } = splitByTime(labelled, o.holdout);
  writeYoloDataset(join(o.work, 'train'), train, studentClasses, o.unsure);
  writeYoloDataset(join(o.work, 'val'), validation, studentClasses, o.unsure);

  if (!o.init) process.stderr.write('note: no base checkpoint given or shipped; the student is trained from scratch\n');
  const runDir = join(o.work, 'run');
  const size = trainerSize(o.studentInput, labelled[0], { width: teacher.inputWidth, height: teacher.inputHeight });
  // No --val: the trainer validates (and picks its best checkpoint) on the last 5% of the training
  // frames, so the held-out frames that judge the student never choose it. Fine-tuning from a trained
  // base wants a gentler learning rate than training from scratch.
  const trainerArgs = ['--data', join(o.work, 'train'), '--out', runDir, '--time-limit', String(o.trainMinutes), '--anchors', 'cfg',
    ...(o.init ? ['--lr', '0.001', '--warmup', '50'] : []), '--eval-every', '100', ...(size ? ['--size', size] : []),
    '--bf16', BF16_ARG[o.trainPrecision], '--box-loss', o.boxLoss, '--flip', o.flip, '--zoom', String(o.zoom), '--select', STUDENT_CHECKPOINT_CHOICE, ...(o.trainDevice ? ['--device', o.trainDevice] : []), ...(o.trainerArgs ?? [])];
  if (o.init && !existsSync(join(runDir, 'last.pt'))) trainerArgs.push('--init', o.init);
  const t0 = Date.now();
  await step(join(o.work, 'trained.json'), async () => {
    await trainStudent(trainerArgs);
    return { seconds: (Date.now() - t0) / 1000 };
  });
  const trainingSeconds = (JSON.parse(readFileSync(join(o.work, 'trained.json'), 'utf8')) as { seconds: number }).seconds;

  const studentModel = loadDarknetModel(join(runDir, 'best.cfg'), join(runDir, 'best.weights'), join(runDir, 'classes.txt'));
  const tmpModel = join(o.work, 'student.xnor');
  writeFileSync(tmpModel, encodeModel(studentModel, { producer: 'xnorcam specialise' }));
  const student = await loadDetector(tmpModel, { backend: o.backend });

  const teacherRun = await timeDetections(teacher, validation, o.teacherThresh);
  const { thresh: studentThresh, onTrainingFrames } = await pickThreshold(student, train);
  const studentRun = await timeDetections(student, validation, studentThresh);
  let baseline: SpecialiseReport['baseline'];
  if (o.compareWith && existsSync(o.compareWith)) {
    const base = await loadDetector(o.compareWith, { backend: o.backend });
    const { thresh: baseThresh } = await pickThreshold(base, train);
    const baseRun = await timeDetections(base, validation, baseThresh);
    baseline = { model: resolve(o.compareWith), msPerFrame: baseRun.msPerFrame, thresh: baseThresh, ...heldOutFigures(validation, baseRun.labels) };
    base.dispose();
  }
  const report: SpecialiseReport = {
    source: absoluteSource(o.source),
    teacher: { cfg: resolve(o.teacherCfg), weights: resolve(o.teacherWeights), msPerFrame: teacherRun.msPerFrame },
    student: {
      model: resolve(o.out),
      msPerFrame: studentRun.msPerFrame,
      base: o.baseModel,
      thresh: studentThresh,
      input: `${studentModel.spec.net.width}x${studentModel.spec.net.height}`,
    },
    frames: { train: train.length, validation: validation.length, teacherBoxes, ...footageSpans(train, validation) },
    agreement: { ...heldOutFigures(validation, studentRun.labels), iou: 0.5, onTrainingFrames },
    teacherStability: await teacherStability(teacher, validation, toStudent, studentClasses, o.teacherThresh),
    ...(baseline ? { baseline } : {}),
    trainingSeconds,
  };
  // The card travels inside the model file, so a pipeline using it can always say where it came from.
  const card = { kind: 'specialised', createdAt: new Date().toISOString(), ...report, classes: o.classes, teacherThreshold: o.teacherThresh, teacherIgnoreBelow: o.teacherIgnore, holdout: o.holdout };
  mkdirSync(dirname(resolve(o.out)), { recursive: true });
  writeAtomically(o.out, encodeModel(studentModel, { producer: 'xnorcam specialise', card }));
  writeFileSync(join(o.work, 'report.json'), JSON.stringify(report, null, 2));
  logger.info('specialised model written', { model: basename(o.out), f1Vehicles: report.agreement.vehicles.f1.toFixed(3) });
  student.dispose();
  teacher.dispose();
  return report;
}
