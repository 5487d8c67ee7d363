import { accessSync, constants, existsSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { parseChoice } from '../core/parse-choice.js';
import { BOX_LOSSES } from '../train/box-loss.js';
import { parseTrainDevice } from '../train/device.js';
import { BF16_ARG, parseTrainPrecision, TRAIN_PRECISIONS, type TrainPrecision } from '../train/precision.js';
import { runTrainer, trainerOutcome, trainerOutcomeError } from '../train/trainer-process.js';
import { loadDarknetModel } from '../engine/load.js';
import { encodeModel } from '../engine/model-file/format.js';
import { parseCommandArgs, type CommandSpec, type OptionSpec } from './command.js';

const options = {
  data: { type: 'string', value: 'DIR', description: 'Training dataset (YOLO format: images/, labels/, classes.txt)' },
  val: { type: 'string', value: 'DIR', description: 'Validation dataset (default: the last 5% of --data)' },
  out: { type: 'string', value: 'DIR', description: 'Run directory: checkpoints, exported cfg/weights, log (rerun to resume)' },
  cfg: { type: 'string', value: 'FILE', description: 'Network cfg (default: training/cfg/xnorcam-wide.cfg, the bundled model\'s network)' },
  float: { type: 'boolean', description: 'Train the xnor=1 layers as float layers (the float baseline)' },
  epochs: { type: 'string', value: 'N', description: 'Epochs', default: '30' },
  batch: { type: 'string', value: 'N', description: 'Batch size', default: '16' },
  lr: { type: 'string', value: 'LR', description: 'Peak learning rate (AdamW, warm-up then cosine)', default: '0.002' },
  threads: { type: 'string', value: 'N', description: 'CPU threads for PyTorch', default: '2' },
  device: { type: 'string', value: 'DEV', description: 'PyTorch device: cpu, cuda, cuda:N, mps', default: 'cpu' },
  precision: {
    type: 'string',
    value: TRAIN_PRECISIONS.join('|'),
    description: 'Training arithmetic; auto: bfloat16 autocast where the CPU has AMX (~1.8x the images/s; AVX-512 BF16 alone trained worse), else fp32',
    default: 'auto',
  },
  bf16: { type: 'boolean', description: 'Same as --precision bf16' },
  'box-loss': { type: 'string', value: BOX_LOSSES.join('|'), description: "Box regression: darknet YOLOv3's, or 1 - CIoU of the decoded box", default: 'yolov3' },
  'time-limit': { type: 'string', value: 'MIN', description: 'Stop and export after this many minutes' },
  'max-steps': { type: 'string', value: 'N', description: 'Stop after N steps' },
  limit: { type: 'string', value: 'N', description: 'Use only the first N images' },
  fresh: { type: 'boolean', description: 'Start over even if --out holds a checkpoint' },
  model: { type: 'string', value: 'FILE', description: 'After training, pack the best checkpoint into this .xnor model' },
} satisfies Record<string, OptionSpec>;

export const spec: CommandSpec<typeof options> = {
  name: 'train',
  summary: 'Train an XNOR detector on a YOLO-format dataset (PyTorch)',
  usage: '--data <dir> --out <run-dir> [--model <model.xnor>] [options]',
  details: `Runs the Python trainer (training/, PyTorch; python from XNORCAM_PYTHON, else /usr/bin/python3,
else python3) and, with --model, packs the best exported checkpoint (RUN/best.cfg + best.weights
+ classes.txt) into an .xnor model. Progress goes to stderr and RUN/log.jsonl. An interrupted run
(Ctrl-C, SIGTERM) saves RUN/last.pt, packs no model and exits with code 130; the same command
continues from RUN/last.pt. See docs/training.md.`,
  options,
  positionals: { max: 0 },
};

/** --precision, with the older --bf16 switch as its alias (refused beside a different --precision). */
function precisionOf(text: string, bf16: boolean): TrainPrecision {
  const p = parseTrainPrecision('--precision', text);
  if (!bf16) return p;
  if (p !== 'auto' && p !== 'bf16') throw new UserError(`--bf16 contradicts --precision ${text}`, 2);
  return 'bf16';
}

/** --model's folder must take the file: found out after training, the run would end in a failed write. */
function checkModelPath(model: string, out: string): void {
  const folder = path.dirname(path.resolve(model));
  // The trainer makes --out and the folders above it first, so --model may name a file in a run folder not made yet.
  const rel = path.relative(folder, path.resolve(out));
  let existing = folder;
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) while (!existsSync(existing)) existing = path.dirname(existing);
  let isFolder: boolean;
  try {
    isFolder = statSync(existing).isDirectory();
  } catch {
    throw new UserError(`--model ${model}: folder ${folder} does not exist`, 2);
  }
  if (!isFolder) throw new UserError(`--model ${model}: ${existing} is not a folder`, 2);
  if (existsSync(model) && statSync(model).isDirectory()) throw new UserError(`--model ${model}: is a directory, expected an .xnor file name`, 2);
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    throw new UserError(`--model ${model}: folder ${existing} is not writable`, 2);
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(spec, argv);
  if (!args) return 0;
  const v = args.values;
  if (!v.data) throw new UserError('xnorcam train: --data <dir> is required', 2);
  if (!v.out) throw new UserError('xnorcam train: --out <run-dir> is required', 2);
  if (v.model) checkModelPath(v.model, v.out);
  const py: string[] = ['--data', path.resolve(v.data), '--out', path.resolve(v.out)];
  const pass: [keyof typeof options, string][] = [
    ['val', '--val'], ['cfg', '--cfg'], ['epochs', '--epochs'], ['batch', '--batch'], ['lr', '--lr'], ['threads', '--threads'],
    ['time-limit', '--time-limit'], ['max-steps', '--max-steps'], ['limit', '--limit'],
  ];
  for (const [k, flag] of pass) {
    const val = v[k];
    if (typeof val === 'string') py.push(flag, k === 'val' || k === 'cfg' ? path.resolve(val) : val);
  }
  py.push('--device', parseTrainDevice('--device', v.device!));
  if (v.float) py.push('--float');
  py.push('--bf16', BF16_ARG[precisionOf(v.precision!, v.bf16 === true)]);
  py.push('--box-loss', parseChoice('--box-loss', v['box-loss']!, BOX_LOSSES));
  if (v.fresh) py.push('--fresh');

  const outcome = trainerOutcome(await runTrainer(py));
  if (outcome.kind !== 'done') {
    const last = path.join(path.resolve(v.out), 'last.pt');
    const resume = `run the same command again to ${existsSync(last) ? `continue from ${last}` : 'start it'}`;
    throw trainerOutcomeError(outcome, 'xnorcam train: the run', resume, v.model ? `, so ${v.model} was not written` : '');
  }
  if (v.model) {
    const run = path.resolve(v.out);
    const model = loadDarknetModel(path.join(run, 'best.cfg'), path.join(run, 'best.weights'), path.join(run, 'classes.txt'));
    const data = encodeModel(model, { producer: 'xnorcam train' });
    const tmp = `${v.model}.tmp-${process.pid}`;
    writeFileSync(tmp, data);
    renameSync(tmp, v.model);
    process.stderr.write(`wrote ${v.model} (${(data.length / 1e6).toFixed(2)} MB)\n`);
  }
  return 0;
}
