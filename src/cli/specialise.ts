import { existsSync } from 'node:fs';
import { UserError } from '../core/errors.js';
import { refuseOutputOverInput } from '../core/input-file.js';
import { formatSeconds } from '../core/progress.js';
import { parseChoice } from '../core/parse-choice.js';
import { defaultModelPath, specialiseBasePath } from '../detect/default-model.js';
import { TRAFFIC_CLASSES } from '../specialise/class-map.js';
import { FLIP_CHOICES, specialise } from '../specialise/specialise.js';
import { UNSURE_CHOICES } from '../specialise/pseudo-label.js';
import { AUTO_LONG_SIDE, parseStudentInput } from '../specialise/student-input.js';
import { BOX_LOSSES } from '../train/box-loss.js';
import { parseTrainDevice } from '../train/device.js';
import { parseTrainPrecision, TRAIN_PRECISIONS } from '../train/precision.js';
import { parseZoom } from '../train/zoom.js';
import { defineCommand, numberOption, parseCommandArgs } from './command.js';
import { backendFlag } from './kernel-options.js';

/**
 * Below this much training footage the report reminds the user what the student has not seen: docs/specialise.md asks
 * for an hour around a busy period at least, and on the clips measured there students agreed with the teacher best on
 * frames like the footage they learned from.
 */
const SHORT_FOOTAGE_SEC = 3600;

export const spec = defineCommand({
  name: 'specialise',
  summary: "train an XNOR model for one camera's view, taught by a float darknet model",
  usage: '--teacher <cfg> --teacher-weights <weights> --source <rtsp-url | video> -o <model.xnor> [options]',
  details: `Samples frames spread over the source's time range, labels them with the teacher through
xnorcam's engine, holds out the last part of the time range, trains an XNOR student (from the base
model's checkpoint when one is given), packs it with a model card (teacher, source, agreement) and
prints student-vs-teacher agreement on the held-out frames. Interrupted? Run the same command again:
it resumes from the work folder. See docs/specialise.md.`,
  options: {
    teacher: { type: 'string', value: 'CFG', description: 'teacher darknet .cfg (a float model you trust: yolov4-tiny, Yolo-Fastest, ...)' },
    'teacher-weights': { type: 'string', value: 'WEIGHTS', description: "teacher's .weights" },
    names: { type: 'string', value: 'FILE', description: "teacher's class names (e.g. coco.names)" },
    source: { type: 'string', value: 'URL|FILE', description: 'the camera (rtsp://...) or a recording of it' },
    frames: { type: 'string', value: 'N', description: 'frames to sample over the time range', default: '600' },
    minutes: { type: 'string', value: 'M', description: 'minutes of a live camera to watch, drop-outs reconnected (or of a recording to use)' },
    classes: { type: 'string', value: 'LIST', description: 'classes the student learns', default: TRAFFIC_CLASSES.join(',') },
    base: { type: 'string', value: 'CHECKPOINT', description: "trainer checkpoint (RUN/last.pt) to start from (default: the bundled model's, models/xnorcam-traffic.pt)" },
    output: { type: 'string', short: 'o', value: 'FILE', description: 'the specialised .xnor model to write' },
    work: { type: 'string', value: 'DIR', description: 'work folder (frames, labels, training run)', default: '<output>.work' },
    'train-minutes': { type: 'string', value: 'M', description: 'training time budget (docs/specialise.md: what more minutes buy)', default: '15' },
    'teacher-thresh': { type: 'string', value: 'P', description: "teacher's score threshold for pseudo-labels", default: '0.3' },
    'teacher-ignore': {
      type: 'string',
      value: 'P',
      description: 'teacher boxes scored from P up to --teacher-thresh are objects it is unsure of: taught as --unsure says, reported apart (0: none)',
      default: '0.1',
    },
    unsure: {
      type: 'string',
      value: UNSURE_CHOICES.join('|'),
      description: "what the student learns of boxes the teacher was unsure of: neighbours = ignore regions where the previous or next frame has the object confidently, background elsewhere; ignore = all ignore regions; background = all background; soft = objects at the teacher's own low score",
      default: 'neighbours',
    },
    input: {
      type: 'string',
      value: 'auto|base|teacher|WxH',
      description: `student input size: auto = the camera's aspect at ${AUTO_LONG_SIDE} px on the long side (e.g. 512x288 for 16:9), base = the base checkpoint's, teacher = the teacher network's own (e.g. 320x320: faster), or WxH in multiples of 32`,
      default: 'auto',
    },
    'train-precision': {
      type: 'string',
      value: TRAIN_PRECISIONS.join('|'),
      description: "the student's training arithmetic; auto: bfloat16 where the CPU has AMX (~1.8x the steps; AVX-512 BF16 alone trained worse), else fp32",
      default: 'auto',
    },
    'box-loss': {
      type: 'string',
      value: BOX_LOSSES.join('|'),
      description: "the student's box regression: 1 - CIoU of the decoded box (what the bundled model was last trained with), or darknet YOLOv3's",
      default: 'ciou',
    },
    flip: {
      type: 'string',
      value: FLIP_CHOICES.join('|'),
      description: "mirror half of the student's training frames left-right (off: the camera's view is fixed, so the mirrored scene never occurs)",
      default: 'off',
    },
    zoom: {
      type: 'string',
      value: 'X',
      description: "largest random zoom-in of the student's training frames (1: none; zooming moves and enlarges vehicles, which a fixed camera never does)",
      default: '1.35',
    },
    device: {
      type: 'string',
      value: 'DEV',
      description: 'PyTorch device the student trains on: cpu, cuda, cuda:N, mps (a GPU fits many more steps into --train-minutes)',
      default: 'cpu',
    },
    holdout: { type: 'string', value: 'FRACTION', description: 'last part of the time range held out for validation', default: '0.3' },
    backend: { type: 'string', value: 'NAME', description: 'kernel backend for teacher and student (auto, native, wasm, reference)' },
    'max-steps': { type: 'string', value: 'N', description: 'stop training after N steps (quick trials)' },
  },
  positionals: { max: 0 },
});

/** The bundled model's training checkpoint, if shipped, is the default starting point. */
function bundledCheckpoint(): string | null {
  const pt = specialiseBasePath();
  return existsSync(pt) ? pt : null;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(spec, argv);
  if (!args) return 0;
  const v = args.values;
  for (const [flag, value] of [['teacher', v.teacher], ['teacher-weights', v['teacher-weights']], ['source', v.source], ['output', v.output]] as const) {
    if (!value) throw new UserError(`xnorcam specialise: --${flag} is required (see xnorcam specialise --help)`, 2);
  }
  for (const file of [v.teacher!, v['teacher-weights']!, ...(v.names ? [v.names] : []), ...(v.base ? [v.base] : [])]) {
    if (!existsSync(file)) throw new UserError(`${file}: no such file`);
  }
  refuseOutputOverInput(v.output!, [v.teacher, v['teacher-weights'], v.names, v.base, v.source]);
  const classes = v.classes!.split(',').map((c) => c.trim()).filter(Boolean);
  if (classes.length === 0) throw new UserError('--classes: give at least one class', 2);
  const init = v.base ?? bundledCheckpoint();
  const report = await specialise({
    teacherCfg: v.teacher!,
    teacherWeights: v['teacher-weights']!,
    teacherNames: v.names,
    source: v.source!,
    frames: numberOption('frames', v.frames, 600, { integer: true, min: 10 }),
    minutes: v.minutes ? numberOption('minutes', v.minutes, 0, { min: 0, above: true }) : undefined,
    classes,
    init,
    baseModel: init,
    compareWith: defaultModelPath(),
    out: v.output!,
    work: v.work && v.work !== '<output>.work' ? v.work : `${v.output}.work`,
    trainMinutes: numberOption('train-minutes', v['train-minutes'], 15, { min: 0, above: true }),
    teacherThresh: numberOption('teacher-thresh', v['teacher-thresh'], 0.3, { min: 0, above: true, max: 1, below: true }),
    teacherIgnore: numberOption('teacher-ignore', v['teacher-ignore'], 0.1, { min: 0, max: 1, below: true }),
    unsure: parseChoice('--unsure', v.unsure!, UNSURE_CHOICES),
    studentInput: parseStudentInput(v.input!),
    trainPrecision: parseTrainPrecision('--train-precision', v['train-precision']!),
    trainDevice: parseTrainDevice('--device', v.device!),
    boxLoss: parseChoice('--box-loss', v['box-loss']!, BOX_LOSSES),
    flip: parseChoice('--flip', v.flip!, FLIP_CHOICES),
    zoom: parseZoom('--zoom', v.zoom!),
    holdout: numberOption('holdout', v.holdout, 0.3, { min: 0, above: true, max: 0.9, below: true }),
    backend: backendFlag(v.backend),
    trainerArgs: v['max-steps'] ? ['--max-steps', String(numberOption('max-steps', v['max-steps'], 0, { integer: true, min: 1 }))] : [],
  });
  const a = report.agreement;
  const pct = (x: number) => (100 * x).toFixed(1);
  process.stdout.write(
    [
      `specialised model: ${report.student.model}`,
      `frames: ${report.frames.train} train over ${formatSeconds(report.frames.trainSec)} of footage, ${report.frames.validation} held out over the following ${formatSeconds(report.frames.heldOutSec)} (the last part of the time range), ${report.frames.teacherBoxes} teacher boxes`,
      ...(report.frames.trainSec < SHORT_FOOTAGE_SEC
        ? [`  note: the student learned from ${formatSeconds(report.frames.trainSec)} of footage; it agrees best with the teacher on scenes like those it saw, so give it footage that covers what the camera will see (docs/specialise.md, How much footage)`]
        : []),
      `agreement with the teacher on held-out frames (IoU ≥ ${a.iou}; student ${report.student.input} at its operating threshold ${report.student.thresh}, chosen on training frames; pipelines and \`xnorcam detect\` apply it from the model card):`,
      `  vehicles     precision ${pct(a.vehicles.precision)}%  recall ${pct(a.vehicles.recall)}%  F1 ${pct(a.vehicles.f1)}%`,
      `  vehicles, student boxes on objects the teacher was unsure of not counted against it: precision ${pct(a.vehiclesIgnoringUncertain.precision)}%  F1 ${pct(a.vehiclesIgnoringUncertain.f1)}%`,
      `  exact class  precision ${pct(a.exactClass.precision)}%  recall ${pct(a.exactClass.recall)}%  F1 ${pct(a.exactClass.f1)}%`,
      `  on ${a.onTrainingFrames.frames} of its training frames, for comparison: vehicles F1 ${pct(a.onTrainingFrames.vehicles.f1)}% (frames it learned from: read the held-out figure against it)`,
      ...(report.baseline
        ? [`  bundled model alone, same frames (threshold ${report.baseline.thresh}): vehicles F1 ${pct(report.baseline.vehicles.f1)}% (P ${pct(report.baseline.vehicles.precision)}%, R ${pct(report.baseline.vehicles.recall)}%), exact class F1 ${pct(report.baseline.exactClass.f1)}%`]
        : []),
      `teacher stability (the teacher against itself on the same frames mirrored; the ceiling for the lines above): vehicles F1 ${pct(report.teacherStability.f1)}%`,
      `speed: teacher ${report.teacher.msPerFrame.toFixed(1)} ms/frame, student ${report.student.msPerFrame.toFixed(1)} ms/frame`,
      `training: ${(report.trainingSeconds / 60).toFixed(1)} min`,
      '',
    ].join('\n'),
  );
  process.stdout.write(JSON.stringify(report) + '\n');
  return 0;
}
