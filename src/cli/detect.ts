import { fatal } from '../core/log.js';
import { UserError } from '../core/errors.js';
import type { Detection } from '../core/types.js';
import { loadDetector } from '../detect/detector.js';
import { decodeImageFile } from '../detect/preprocess.js';
import { backendFlag, kernelOptions, precisionFlag } from './kernel-options.js';
import { modelOptions, parseModelFlags } from '../pipeline/model-ref.js';
import { numberOption, parseCommandArgs, type CommandSpec, type OptionSpec } from './command.js';
import { cardOperatingThreshold } from '../engine/model-card.js';

const options = {
  ...modelOptions,
  ...kernelOptions,
  thresh: {
    type: 'string',
    value: 'P',
    description: "Keep boxes with objectness x class probability above P (default: the model card's operating threshold for a specialised model, else 0.25)",
  },
  nms: { type: 'string', value: 'IOU', description: 'Per-class NMS IoU threshold (0 disables NMS)', default: '0.45' },
  json: { type: 'boolean', description: 'Print one JSON object per image' },
  threads: { type: 'string', value: 'N', description: 'Intra-frame threads per layer (native and wasm backends; default 1, or XNORCAM_NATIVE_THREADS)' },
} satisfies Record<string, OptionSpec>;

export const spec: CommandSpec<typeof options> = {
  name: 'detect',
  summary: 'Detect objects in image files (as darknet detector test)',
  usage: '<image...> [--model <model.xnor> | --cfg <cfg> --weights <weights> [--names <file>]] [--thresh 0.25] [--nms 0.45] [--json] [--threads N] [--precision exact|fast]',
  details: `Preprocessing and decoding follow darknet's \`detector test\`: RGB/255, darknet's bilinear resize
(letterbox only when the cfg sets letter_box=1), per-class NMS. Boxes are [x1, y1, x2, y2] in
source-image pixels; score is objectness x class probability.`,
  options,
  positionals: { min: 1 },
};

const round = (v: number, digits: number) => Number(v.toFixed(digits));

function textLine(d: Detection): string {
  const [x1, y1, x2, y2] = d.box.map((v) => Math.round(v));
  return `  ${d.className.padEnd(14)} ${(d.score * 100).toFixed(0).padStart(3)}%  [${x1}, ${y1}, ${x2}, ${y2}]`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(spec, argv);
  if (!args) return 0;
  const v = args.values;
  const nms = numberOption('nms', v.nms, 0.45, { min: 0, max: 1 });
  const threads = v.threads === undefined ? undefined : numberOption('threads', v.threads, 1, { integer: true, min: 1, max: 256 });
  const precision = precisionFlag(v.precision);
  const source = parseModelFlags(v, {
    command: 'detect',
    namesNeedCfg: true,
    bundledMissing: (def) => `no model given and the bundled model ${def} does not exist yet; pass --model <model.xnor> or --cfg <cfg> --weights <weights>`,
  });
  const detector = await loadDetector(source, { backend: backendFlag(v.backend), threads, precision });
  const thresh = v.thresh === undefined ? (cardOperatingThreshold(detector.model) ?? 0.25) : numberOption('thresh', v.thresh, 0.25, { min: 0, max: 1 });
  let failed = 0;
  try {
    for (const image of args.positionals) {
      let img;
      try {
        img = await decodeImageFile(image);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        fatal(e.message);
        failed++;
        continue;
      }
      const dets = detector.detectImage(img, { thresh, nms });
      if (v.json) {
        const detections = dets.map((d) => ({ classId: d.classId, className: d.className, score: round(d.score, 6), box: d.box.map((b) => round(b, 3)) }));
        process.stdout.write(JSON.stringify({ image, width: img.width, height: img.height, detections }) + '\n');
      } else {
        process.stdout.write(`${image} (${img.width}x${img.height}): ${dets.length} detection${dets.length === 1 ? '' : 's'}\n`);
        for (const d of dets) process.stdout.write(textLine(d) + '\n');
      }
    }
  } finally {
    detector.dispose();
  }
  return failed ? 1 : 0;
}
