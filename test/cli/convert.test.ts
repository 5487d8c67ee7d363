import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readModelFile } from '../../src/engine/model-file/format.js';
import { imageA, shared, testModel } from '../helpers/model.js';
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

  it('refuses a names file that is not UTF-8, naming its line, and stores UTF-8 names as written', () => {
    const latin1 = join(tmp.dir, 'latin1.names');
    writeFileSync(latin1, Buffer.from('voiture\nv\xe9lo\ncami\xf3n\n', 'latin1'));
    const refused = xnorcam(['convert', testModel.cfg, testModel.weights, '--names', latin1, '-o', join(tmp.dir, 'latin1.xnor')]);
    expect(refused.stderr.trim().split('\n')).toEqual([`error: ${latin1}:2: not UTF-8 text`]);
    expect(refused.status).toBe(1);
    const utf8 = join(tmp.dir, 'utf8.names');
    writeFileSync(utf8, 'voiture\nvélo\ncamión\n');
    const model = join(tmp.dir, 'utf8.xnor');
    const ok = xnorcam(['convert', testModel.cfg, testModel.weights, '--names', utf8, '-o', model]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(readModelFile(model).classNames).toEqual(['voiture', 'vélo', 'camión']);
  });

  it('reads a names file whose lines end in CR alone (old Mac editors), as the cfg parser does', () => {
    const fastest = resolve(shared, 'fixtures/real-models/yolo-fastest/1.1_coco');
    const coco = readFileSync(join(fastest, 'coco.names'), 'utf8');
    const names = join(tmp.dir, 'cr.names');
    writeFileSync(names, coco.replace(/\r?\n/g, '\r'));
    const model = join(tmp.dir, 'cr.xnor');
    const r = xnorcam(['convert', join(fastest, 'yolo-fastest-1.1.cfg'), join(fastest, 'yolo-fastest-1.1.weights'), '--names', names, '-o', model]);
    expect(r.status, r.stderr).toBe(0);
    expect(readModelFile(model).classNames).toEqual(coco.split('\n').filter((n) => n.trim() !== ''));
  });

  it('says a file name too long for the file system is one, in one line', () => {
    const out = join(tmp.dir, `${'m'.repeat(300)}.xnor`);
    const r = xnorcam(['convert', testModel.cfg, testModel.weights, '-o', out]);
    // It was `internal error: ENAMETOOLONG …`, exit 70 (the path named may be the temporary file beside it).
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^error: ${out}(\\.tmp-\\d+)?: name too long for the file system \\(255 bytes for a file name on most\\)$`))]);
    expect(r.status).toBe(1);
  });

  it('says the folder of -o does not exist, rather than "no such file"', () => {
    const out = join(tmp.dir, 'nodir', 'm.xnor');
    const r = xnorcam(['convert', testModel.cfg, testModel.weights, '-o', out]);
    expect(r.stderr.trim().split('\n')).toEqual([`error: ${out}: the folder ${join(tmp.dir, 'nodir')} does not exist`]);
    expect(r.status).toBe(1);
  });
});
