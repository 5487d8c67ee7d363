import { UserError } from '../core/errors.js';
import { readInputFile } from '../core/input-file.js';
import { checkDetectorGraph, parseCfgFile } from './darknet/cfg.js';
import { prepareModel } from './darknet/prepare.js';
import { readWeightsFile } from './darknet/weights.js';
import { defaultClassNames, modelClasses, type Model } from './model.js';
import { readModelFile } from './model-file/format.js';

/** Where a model comes from: a packed .xnor file, or a darknet cfg + weights (+ names) pair. */
export type ModelSource = string | { cfg: string; weights: string; names?: string };

/** Reads a names file (one class per line, blank lines ignored) and checks it fits the network. */
export function readClassNames(file: string, classes: number): string[] {
  // Leniently decoded, a Latin-1 name is stored in the model with U+FFFD for its accents.
  const text = readInputFile(file, 'a class names file', 'utf8-strict');
  // CR alone too, as the cfg parser reads it: old Mac editors end lines so.
  const names = text.split(/\r\n|\r|\n/).map((s) => s.trim()).filter((s) => s !== '');
  if (classes && names.length !== classes) throw new UserError(`${file}: ${names.length} class names, but the network has ${classes} classes`);
  return names;
}

/** darknet cfg + weights → prepared model (batch norm folded, XNOR weights binarised). */
export function loadDarknetModel(cfg: string, weights: string, names?: string): Model {
  const spec = parseCfgFile(cfg);
  checkDetectorGraph(spec);
  const raw = readWeightsFile(weights, spec);
  const classes = modelClasses(spec);
  return prepareModel(spec, raw, names ? readClassNames(names, classes) : defaultClassNames(classes));
}

export function loadModel(source: ModelSource): Model {
  if (typeof source === 'string') return readModelFile(source);
  return loadDarknetModel(source.cfg, source.weights, source.names);
}
