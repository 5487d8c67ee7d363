import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { imageA, shared } from '../helpers/model.js';
import { xnorcam } from '../helpers/cli.js';
import { tempDir } from '../helpers/videos.js';

/** YOLO-LITE: a real [region] model with 80 COCO classes. */
const lite = resolve(shared, 'fixtures/real-models/yolo-lite-coco');
const liteCfg = readFileSync(join(lite, 'trial6.cfg'), 'utf8');
const tmp = tempDir('xnorcam-convert-');
afterAll(() => tmp.cleanup());

describe('xnorcam convert', () => {
  it('refuses a cfg without a [yolo] or [region] head in one line, at convert and at load with --cfg/--weights', () => {
    const cfg = join(tmp.dir, 'nohead.cfg');
    writeFileSync(cfg, liteCfg.slice(0, liteCfg.indexOf('[region]')));
    const weights = join(lite, 'trial6_653550.weights');
    const refused = `error: ${cfg}: no [yolo] or [region] layer: this network cannot detect`;
    const convert = xnorcam(['convert', cfg, weights, '--names', join(lite, 'coco.names'), '-o', join(tmp.dir, 'nohead.xnor')]);
    expect(convert.stderr.trim().split('\n')).toEqual([refused]);
    expect(convert.status).toBe(1);
    const detect = xnorcam(['detect', imageA, '--cfg', cfg, '--weights', weights]);
    expect(detect.stderr.trim().split('\n')).toEqual([refused]);
    expect(detect.status).toBe(1);
  });
});
