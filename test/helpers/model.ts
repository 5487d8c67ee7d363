import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const shared = resolve(repoRoot, '..', 'shared');
export const bin = resolve(repoRoot, 'bin/xnorcam.js');

/** The small real XNOR tiny-YOLO from darknet (fixture A: 160×160, 3 classes, darknet-checked weights). */
export const fixtureA = resolve(shared, 'fixtures/darknet-xnor-a');
export const testModel = {
  cfg: resolve(fixtureA, 'yolov3-tiny_xnor_160_slim.cfg'),
  weights: resolve(fixtureA, 'weights_a.weights'),
  names: resolve(fixtureA, 'classes.names'),
};
export const testModelArgs = ['--cfg', testModel.cfg, '--weights', testModel.weights, '--names', testModel.names];
export const imageA = resolve(fixtureA, 'image_a.png');
