import { createProgress } from '../core/progress.js';
import { UserError } from '../core/errors.js';
import type { Box } from '../core/types.js';
import { loadDetector } from '../detect/detector.js';
import { decodeImageFile } from '../detect/preprocess.js';
import { backendFlag, kernelOptions, precisionFlag } from './kernel-options.js';
import { evaluate, evaluateClassAgnostic, IGNORE_REGION, type ImageResult } from '../eval/ap.js';
import { readYoloDataset } from '../eval/dataset.js';
import { describeModel, modelOptions, parseModelFlags } from '../pipeline/model-ref.js';
import { numberOption, parseCommandArgs, type CommandSpec, type OptionSpec } from './command.js';

const options = {
  ...modelOptions,
  ...kernelOptions,
  names: { type: 'string', value: 'FILE', description: 'Class names for --cfg, one per line (default: the dataset\'s classes.txt)' },
  data: { type: 'string', value: 'DIR', description: 'YOLO-format dataset: images/, labels/, classes.txt' },
  thresh: { type: 'string', value: 'P', description: 'Score threshold for candidate detections', default: '0.001' },
  nms: { type: 'string', value: 'IOU', description: 'Per-class NMS IoU threshold', default: '0.45' },
  limit: { type: 'string', value: 'N', description: 'Evaluate only the first N images' },
  'min-height': {
    type: 'string', value: 'PX',
    description: 'Ground truth shorter than PX image pixels is ignored, as PASCAL VOC\'s "difficult" objects (0: every box counts)',
    default: '0',
  },
} satisfies Record<string, OptionSpec>;

export const spec: CommandSpec<typeof options> = {
  name: 'eval',
  summary: 'Measure a model\'s mAP on a YOLO-format dataset (JSON)',
  usage: '--data <dir> [--model <model.xnor> | --cfg <cfg> --weights <weights>] [--thresh 0.001]',
  details: `Runs the detector on every image (darknet \`detector test\` preprocessing) and prints one JSON
object: mAP@0.5, mAP@0.75, mAP@0.5:0.95 and per-class AP, COCO definitions (101-point
interpolation, greedy matching by score, at most 100 detections per image). Dataset classes are
matched to the model's class names by name; classes without ground truth are left out of the means.
"classAgnostic" scores every class as one (is each object found and boxed, whatever its class).
--min-height PX leaves objects too small to matter out (a detection on one neither counts nor
costs; missing one costs no recall), as PASCAL VOC does with its "difficult" objects. Labels of
class -1 (ignore regions, as \`xnorcam specialise\` writes) are that for every class; a sixth
column (a soft label's score) is read and not used.`,
  options,
  positionals: { max: 0 },
};

const MAX_DETS = 100;
const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(spec, argv);
  if (!args) return 0;
  const v = args.values;
  if (!v.data) throw new UserError('xnorcam eval: --data <dir> is required (a YOLO-format dataset)', 2);
  const thresh = numberOption('thresh', v.thresh, 0.001, { min: 0, max: 1 });
  const nms = numberOption('nms', v.nms, 0.45, { min: 0, max: 1 });
  const limit = numberOption('limit', v.limit, 0, { integer: true, min: 1 });
  const minHeight = numberOption('min-height', v['min-height'], 0, { min: 0 });
  const precision = precisionFlag(v.precision);
  const data = readYoloDataset(v.data);
  const source = parseModelFlags(v, {
    command: 'eval',
    namesNeedCfg: true,
    defaultNames: `${data.dir}/classes.txt`,
    bundledMissing: (def) => `no model given and the bundled model ${def} does not exist yet; pass --model <model.xnor>`,
  });
  const detector = await loadDetector(source, { backend: backendFlag(v.backend), precision });

  // Dataset class id → model class id, by name.
  const modelIds = data.classes.map((name) => detector.classNames.indexOf(name));
  if (modelIds.every((id) => id < 0)) {
    throw new UserError(`${v.data}: none of the dataset's classes (${data.classes.join(', ')}) is a class of the model (${detector.classNames.join(', ')})`);
  }
  const items = limit ? data.items.slice(0, limit) : data.items;
  const progress = createProgress('eval', items.length, { unit: 'images' });
  const results: ImageResult[] = [];
  let detectMs = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const img = await decodeImageFile(item.image);
    const t0 = performance.now();
    const dets = detector.detectImage(img, { thresh, nms });
    detectMs += performance.now() - t0;
    dets.sort((a, b) => b.score - a.score);
    results.push({
      detections: dets.slice(0, MAX_DETS).map((d) => ({ classId: d.classId, score: d.score, box: d.box })),
      truths: item.labels
        .filter((l) => l.classId === IGNORE_REGION || modelIds[l.classId] >= 0)
        .map((l) => ({
          classId: l.classId === IGNORE_REGION ? IGNORE_REGION : modelIds[l.classId],
          box: toBox(l.cx, l.cy, l.w, l.h, img.width, img.height),
          ...(l.classId === IGNORE_REGION || l.h * img.height < minHeight ? { difficult: true } : {}),
        })),
    });
    progress.update(i + 1);
  }
  progress.finish();
  const unlabelled = items.filter((item) => !item.labelled).length;
  const ignoreRegions = results.reduce((n, r) => n + r.truths.filter((t) => t.classId === IGNORE_REGION).length, 0);
  const s = evaluate(results, detector.classNames.length);
  const agnostic = evaluateClassAgnostic(results);
  const perClass: Record<string, { ap50: number; ap75: number; ap5095: number; truths: number; detections: number }> = {};
  for (const c of s.perClass) perClass[detector.classNames[c.classId]] = { ap50: r4(c.ap50), ap75: r4(c.ap75), ap5095: r4(c.ap5095), truths: c.truths, detections: c.detections };
  const out = {
    model: describeModel(source),
    data: v.data,
    images: items.length,
    thresh,
    nms,
    ...(minHeight > 0 ? { minHeight, ignoredTruths: results.reduce((n, r) => n + r.truths.filter((t) => t.difficult && t.classId !== IGNORE_REGION).length, 0) } : {}),
    ...(ignoreRegions > 0 ? { ignoreRegions } : {}),
    ...(unlabelled > 0 ? { imagesWithoutLabels: unlabelled } : {}),
    'mAP@0.5': r4(s.map50),
    'mAP@0.75': r4(s.map75),
    'mAP@0.5:0.95': r4(s.map5095),
    perClass,
    classAgnostic: { 'AP@0.5': r4(agnostic.map50), 'AP@0.75': r4(agnostic.map75), 'AP@0.5:0.95': r4(agnostic.map5095) },
    missingClasses: data.classes.filter((_, i) => modelIds[i] < 0),
    backend: detector.backend,
    precision: detector.precision,
    msPerImage: Math.round((detectMs / Math.max(1, items.length)) * 100) / 100,
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  return 0;
}

function toBox(cx: number, cy: number, w: number, h: number, W: number, H: number): Box {
  return [(cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H];
}
