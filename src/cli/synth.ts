import { UserError } from '../core/errors.js';
import { createProgress } from '../core/progress.js';
import { CLASS_NAMES } from '../synth/models.js';
import { defineCommand, helpText, numberOption, parseCommandArgs } from './command.js';

export const spec = defineCommand({
  name: 'synth',
  summary: 'generate traffic scenes with exact ground truth: YOLO datasets and videos',
  usage: '<dataset|video> [options]',
  details: `Subcommands:
  dataset   YOLO-format training/evaluation images (xnorcam synth dataset --help)
  video     a traffic video with MOTChallenge ground truth, line crossings and speeds (xnorcam synth video --help)

Everything is a pure function of --seed: the same command writes the same bytes.`,
  options: {},
  positionals: { min: 0, max: 1 },
});

export const datasetSpec = defineCommand({
  name: 'synth dataset',
  summary: 'render a YOLO-format dataset of traffic-camera images',
  usage: '--out DIR [--count N] [--seed S] [--width W --height H | --size WxH]',
  details: `Writes DIR/images/NNNNNN.jpg, DIR/labels/NNNNNN.txt (class cx cy w h, normalised),
DIR/classes.txt (${CLASS_NAMES.join(', ')}) and DIR/dataset.json. Image i depends only on (seed, i),
so --start extends a dataset and different seeds give disjoint data (train on some, test on others).`,
  options: {
    out: { type: 'string', short: 'o', value: 'DIR', description: 'output folder (created if missing)' },
    count: { type: 'string', short: 'n', value: 'N', description: 'number of images', default: '1000' },
    seed: { type: 'string', value: 'S', description: 'dataset seed (non-negative integer)', default: '1' },
    start: { type: 'string', value: 'I', description: 'index of the first image (to extend a dataset)', default: '0' },
    width: { type: 'string', value: 'W', description: 'image width in pixels (default: 416; or --size)' },
    height: { type: 'string', value: 'H', description: 'image height in pixels (default: 416; or --size)' },
    size: { type: 'string', value: 'WxH', description: 'image size, e.g. 416x416 (instead of --width/--height)' },
    format: { type: 'string', value: 'jpg|png', description: 'image format', default: 'jpg' },
    quality: { type: 'string', value: 'LO-HI', description: 'JPEG quality range; each image draws one', default: '40-95' },
    'min-visibility': { type: 'string', value: 'F', description: 'label objects at least this visible (0..1)', default: '0.3' },
    'min-size': { type: 'string', value: 'PX', description: 'do not draw objects shorter than this (pixels): no unlabelled specks', default: '10' },
  },
  positionals: { max: 0 },
});

export const videoSpec = defineCommand({
  name: 'synth video',
  summary: 'render a traffic video with ground truth for tracking, counting and speed',
  usage: '--out FILE.mp4 [--seconds T] [--seed S] [--fps F] [--width W --height H | --size WxH]',
  details: `Writes FILE.mp4 (H.264) and beside it FILE.gt.txt (MOTChallenge: frame,id,x,y,w,h,1,class,visibility;
frames 1-based, class = ${CLASS_NAMES.map((n, i) => `${i} ${n}`).join(', ')}) and FILE.truth.json: a preset counting
line in pixels, the true line crossings (track, frame, direction, class, speed), per-track true speeds
in km/h and a ground calibration (four image points ↔ metres).`,
  options: {
    out: { type: 'string', short: 'o', value: 'FILE.mp4', description: 'output video file' },
    seconds: { type: 'string', short: 't', value: 'T', description: 'duration in seconds', default: '20' },
    seed: { type: 'string', value: 'S', description: 'scene and traffic seed (non-negative integer)', default: '1' },
    fps: { type: 'string', value: 'F', description: 'frames per second', default: '25' },
    width: { type: 'string', value: 'W', description: 'frame width in pixels (default: 1280; or --size)' },
    height: { type: 'string', value: 'H', description: 'frame height in pixels (default: 720; or --size)' },
    size: { type: 'string', value: 'WxH', description: 'frame size, e.g. 1280x720 (instead of --width/--height)' },
    conditions: { type: 'string', value: 'clear|any', description: 'clear = daylight and dry; any = also dusk, night, rain and fog', default: 'clear' },
    crf: { type: 'string', value: 'N', description: 'H.264 quality (x264 CRF, 0-51, higher = more compression)', default: '23' },
    'min-height': { type: 'string', value: 'PX', description: 'leave boxes shorter than this out of the ground truth', default: '10' },
    'no-osd': { type: 'boolean', description: 'no timestamp / camera name burnt into the picture' },
  },
  positionals: { max: 0 },
});

function intOption(name: string, raw: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  return numberOption(name, raw, fallback, { integer: true, min, max });
}

/** Width and height from --size WxH or --width/--height. */
export function sizeOptions(v: { size?: string; width?: string; height?: string }, defaults: [number, number]): [number, number] {
  if (v.size !== undefined) {
    if (v.width !== undefined || v.height !== undefined) throw new UserError(`--size ${v.size} and --${v.width !== undefined ? 'width' : 'height'} both give the size: give one`, 2);
    const m = /^(\d+)x(\d+)$/.exec(v.size);
    if (!m) throw new UserError(`--size: '${v.size}' is not WIDTHxHEIGHT (e.g. 416x416)`, 2);
    const w = Number(m[1]);
    const h = Number(m[2]);
    if (w < 32 || h < 32 || w > 7680 || h > 4320) throw new UserError(`--size: '${v.size}' must be between 32x32 and 7680x4320`, 2);
    return [w, h];
  }
  return [intOption('width', v.width, defaults[0], 32, 7680), intOption('height', v.height, defaults[1], 32, 4320)];
}

async function runDataset(argv: string[]): Promise<number> {
  const args = parseCommandArgs(datasetSpec, argv);
  if (!args) return 0;
  const v = args.values;
  if (!v.out) throw new UserError('xnorcam synth dataset: --out DIR is required', 2);
  const count = intOption('count', v.count, 1000, 1, 10_000_000);
  const seed = intOption('seed', v.seed, 1, 0);
  const start = intOption('start', v.start, 0, 0);
  const [width, height] = sizeOptions(v, [416, 416]);
  const format = v.format ?? 'jpg';
  if (format !== 'jpg' && format !== 'png') throw new UserError(`--format: '${format}' is not jpg or png`, 2);
  const qm = /^(\d+)-(\d+)$/.exec(v.quality ?? '40-95');
  const quality: [number, number] = qm ? [Number(qm[1]), Number(qm[2])] : [0, 0];
  if (!qm || quality[0] < 1 || quality[1] > 100 || quality[0] > quality[1]) throw new UserError(`--quality: '${v.quality}' is not a range LO-HI within 1-100`, 2);
  const minVisibility = numberOption('min-visibility', v['min-visibility'], 0.3, { min: 0, max: 1 });
  const minSize = numberOption('min-size', v['min-size'], 10, { min: 0, max: 1000 });
  const { statSync } = await import('node:fs');
  const existing = statSync(v.out, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory()) throw new UserError(`--out: '${v.out}' exists and is not a folder`, 2);
  const { writeDataset } = await import('../synth/dataset.js');
  const { defaultLabelRules } = await import('../synth/sample.js');
  const progress = createProgress('synth dataset', count, { unit: 'images' });
  const stats = await writeDataset({
    out: v.out,
    count,
    seed,
    start,
    width,
    height,
    format,
    quality,
    rules: { ...defaultLabelRules, minVisibility, minSize },
    onProgress: (done, s) => progress.update(done, `${s.labels} boxes`),
  });
  const per = CLASS_NAMES.map((n, i) => `${n} ${stats.perClass[i]}`).join(', ');
  progress.finish(`synth dataset: ${stats.images} images, ${stats.labels} boxes (${per}) in ${stats.seconds.toFixed(1)}s (${(stats.images / Math.max(stats.seconds, 1e-3)).toFixed(1)} images/s) → ${v.out}`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'dataset') return runDataset(rest);
  if (sub === 'video') {
    return runVideo(rest);
  }
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(helpText(spec));
    return sub === undefined ? 2 : 0;
  }
  throw new UserError(`xnorcam synth: unknown subcommand '${sub}' (expected dataset or video; see xnorcam synth --help)`, 2);
}

async function runVideo(argv: string[]): Promise<number> {
  const args = parseCommandArgs(videoSpec, argv);
  if (!args) return 0;
  const v = args.values;
  if (!v.out) throw new UserError('xnorcam synth video: --out FILE.mp4 is required', 2);
  if (!/\.(mp4|mkv|mov)$/i.test(v.out)) throw new UserError(`--out: '${v.out}' must end in .mp4 (or .mkv/.mov)`, 2);
  const seconds = numberOption('seconds', v.seconds, 20, { min: 0, above: true, max: 3600 });
  const fps = intOption('fps', v.fps, 25, 1, 120);
  const seed = intOption('seed', v.seed, 1, 0);
  const [width, height] = sizeOptions(v, [1280, 720]);
  if (width % 2 || height % 2) throw new UserError(`--size: ${width}x${height} must have even width and height (H.264 4:2:0)`, 2);
  const conditions = v.conditions ?? 'clear';
  if (conditions !== 'clear' && conditions !== 'any') throw new UserError(`--conditions: '${conditions}' is not clear or any`, 2);
  const crf = intOption('crf', v.crf, 23, 0, 51);
  const minHeight = numberOption('min-height', v['min-height'], 10, { min: 0 });
  const { writeVideo, truthPaths } = await import('../synth/video.js');
  const frames = Math.max(1, Math.round(seconds * fps));
  const progress = createProgress('synth video', frames, { unit: 'frames' });
  const t0 = Date.now();
  const truth = await writeVideo({ out: v.out, seconds, fps, width, height, seed, conditions, crf, minHeight, osd: !v['no-osd'], onProgress: (f) => progress.update(f) });
  const secs = (Date.now() - t0) / 1000;
  const { gt, truth: tj } = truthPaths(v.out);
  const fwd = Object.values(truth.counts.forward).reduce((a, b) => a + b, 0);
  const back = Object.values(truth.counts.backward).reduce((a, b) => a + b, 0);
  progress.finish(`synth video: ${frames} frames ${width}x${height} in ${secs.toFixed(1)}s (${(frames / Math.max(secs, 1e-3)).toFixed(1)} frames/s), ${truth.tracks.length} tracks, ${fwd} forward + ${back} backward line crossings → ${v.out}, ${gt}, ${tj}`);
  return 0;
}
