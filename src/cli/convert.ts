import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { UserError, writeFileError } from '../core/errors.js';
import { refuseOutputOverInput } from '../core/input-file.js';
import { loadDarknetModel } from '../engine/load.js';
import { encodeModel } from '../engine/model-file/format.js';
import { parseCommandArgs, type CommandSpec, type OptionSpec } from './command.js';

const options = {
  output: { type: 'string', short: 'o', value: 'FILE', description: 'Output model file (.xnor)' },
  names: { type: 'string', value: 'FILE', description: 'Class names, one per line (default: class0, class1, ...)' },
  half: { type: 'boolean', description: 'Store float-layer weights as float16: smaller file, outputs no longer bit-exact' },
} satisfies Record<string, OptionSpec>;

export const spec: CommandSpec<typeof options> = {
  name: 'convert',
  summary: 'Pack a darknet cfg + weights into an .xnor model (bit-packed XNOR layers)',
  usage: '<cfg> <weights> [--names <file>] -o <model.xnor>',
  details: `Folds batch norm into the weights as darknet does, stores XNOR layers as sign bits + per-filter
scale + bias and float layers as float32, with class names, input size and the layer graph, in a
versioned, checksummed file. Loading it gives exactly the outputs of the original cfg + weights
(unless --half is used).`,
  options,
  positionals: { min: 2, max: 2 },
};

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(spec, argv);
  if (!args) return 0;
  const [cfg, weights] = args.positionals;
  const out = args.values.output;
  if (!out) throw new UserError('xnorcam convert: missing -o <model.xnor>', 2);
  refuseOutputOverInput(out, [cfg, weights, args.values.names]);
  const model = loadDarknetModel(cfg, weights, args.values.names);
  const data = encodeModel(model, { half: Boolean(args.values.half), producer: 'xnorcam convert' });
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, out);
  } catch (e) {
    // A full disk leaves a partial temporary file: not left behind.
    rmSync(tmp, { force: true });
    throw writeFileError(out, e);
  }
  const layers = model.spec.layers;
  const convs = layers.filter((l) => l.type === 'convolutional');
  const xnor = convs.filter((l) => l.type === 'convolutional' && l.xnor).length;
  const srcBytes = statSync(weights).size;
  process.stdout.write(
    `${out}: ${layers.length} layers (${convs.length} conv, ${xnor} XNOR), ${model.spec.net.width}x${model.spec.net.height}, ` +
      `${model.classNames.length} classes, ${(data.length / 1e6).toFixed(2)} MB (1/${(srcBytes / data.length).toFixed(1)} of the darknet weights)\n`,
  );
  return 0;
}
