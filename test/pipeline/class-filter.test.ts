import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { classFilter, parseClassesOption, reportedLabels } from '../../src/pipeline/class-filter.js';
import { makeVideo, tempDir } from '../helpers/videos.js';
import { bin, imageA, shared, testModel, testModelArgs } from '../helpers/model.js';
import { spawnSync } from 'node:child_process';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { defaultModelPath } from '../../src/detect/default-model.js';
import { readJsonl, xnorcam } from '../helpers/cli.js';

const coco = readFileSync(resolve(shared, 'fixtures/real-models/yolo-fastest/1.1_coco/coco.names'), 'utf8').trim().split('\n');
const bundled = ['car', 'truck', 'bus', 'motorcycle', 'bicycle', 'person'];

describe('the classes a pipeline works with', () => {
  it('takes, by default, the traffic classes a model has, by meaning (COCO says motorbike)', () => {
    const keep = classFilter('traffic', coco, '--classes')!;
    expect([...keep].map((id) => coco[id]).sort()).toEqual(['bicycle', 'bus', 'car', 'motorbike', 'person', 'truck']);
    // The bundled model is all traffic: nothing to filter. A custom model without any keeps its own.
    expect(classFilter('traffic', bundled, '--classes')).toBeUndefined();
    expect(classFilter('traffic', ['class0', 'class1', 'class2'], '--classes')).toBeUndefined();
    expect(classFilter('all', coco, '--classes')).toBeUndefined();
    expect([...classFilter(['car', 'bus'], coco, '--classes')!]).toEqual([2, 5]);
    // Names asked for by meaning and whatever the case: motorcycle is COCO's motorbike.
    expect([...classFilter(['motorcycle', 'Car'], coco, '--classes')!].map((id) => coco[id])).toEqual(['motorbike', 'car']);
    // And reported under the traffic name, so counts and colours agree across models.
    expect(reportedLabels(coco)![coco.indexOf('motorbike')]).toBe('motorcycle');
    expect(reportedLabels(coco)![coco.indexOf('train')]).toBe('train');
    expect(reportedLabels(bundled)).toBeUndefined();
  });

  it('refuses a class the model does not have, in one line naming where it was given', () => {
    expect(() => classFilter(['car', 'lorry'], coco, 'p.yaml: detector.classes')).toThrow(
      "p.yaml: detector.classes: 'lorry' is not a class of the model (its classes: person, bicycle, car, motorbike, aeroplane, bus, train, truck, boat, traffic light, fire hydrant, stop sign and 68 more)",
    );
    expect(parseClassesOption('car, bus')).toEqual(['car', 'bus']);
    expect(() => parseClassesOption('car,,bus')).toThrow("--classes: 'car,,bus' is not traffic, all, or a comma-separated list of class names");
  });

  it('xnorcam batch --classes keeps only those classes in every output', () => {
    const tmp = tempDir();
    try {
      const clip = makeVideo(join(tmp.dir, 'clip.mp4'), { width: 320, height: 240, fps: 10, seconds: 2, image: imageA });
      const all = xnorcam(['batch', clip, ...testModelArgs, '-o', join(tmp.dir, 'all')]);
      expect(all.status, all.stderr).toBe(0);
      const seen = (dir: string) => new Set(readJsonl(join(tmp.dir, dir, 'clip.detections.jsonl')).flatMap((f) => (f.detections as { className: string }[]).map((d) => d.className)));
      const classes = [...seen('all')].sort();
      expect(classes.length).toBeGreaterThan(1);
      const one = xnorcam(['batch', clip, ...testModelArgs, '-o', join(tmp.dir, 'one'), '--classes', classes[0]]);
      expect(one.status, one.stderr).toBe(0);
      expect([...seen('one')]).toEqual([classes[0]]);
      const bad = xnorcam(['batch', clip, ...testModelArgs, '-o', join(tmp.dir, 'bad'), '--classes', 'lorry']);
      expect(bad.status).toBe(2);
      expect(bad.stderr.trim()).toMatch(/^error: --classes \(source clip, model yolov3-tiny_xnor_160_slim@[0-9a-f]{8}\): 'lorry' is not a class of the model \(its classes: /);
    } finally {
      tmp.cleanup();
    }
  }, 60_000);

  it('a reload to a model without the chosen classes is refused before the running source stops', async () => {
    const p = new Pipeline({ model: defaultModelPath(), sources: [{ name: 'cam', url: 'lavfi:testsrc2=size=160x120:rate=5', mode: 'live' }], workers: 1, classes: ['car'], classesLabel: '--classes' });
    await p.start();
    try {
      await expect(p.replaceSource('cam', { name: 'cam', url: 'lavfi:testsrc2=size=160x120:rate=5', mode: 'live', model: testModel })).rejects.toThrow(/^--classes \(source cam, model yolov3-tiny_xnor_160_slim@[0-9a-f]{8}\): 'car' is not a class of the model/);
      expect(p.sourceNames()).toEqual(['cam']);
      expect(p.modelOf('cam')).toMatch(/^xnorcam-traffic@/);
    } finally {
      await p.close();
    }
  }, 60_000);
  it('says which of a custom model\'s classes it leaves out by default (its van and lorry are not traffic classes by name)', () => {
    const dir = tempDir();
    try {
      const names = join(dir.dir, 'vcl.names');
      writeFileSync(names, 'van\ncar\nlorry\n');
      const video = makeVideo(join(dir.dir, 'road.mp4'), { width: 160, height: 160, fps: 5, seconds: 1 });
      // At the default log level (the test helper's is warn), as JSON lines (stderr is no terminal).
      const r = spawnSync(process.execPath, [bin, 'batch', video, '--cfg', testModel.cfg, '--weights', testModel.weights, '--names', names, '-o', join(dir.dir, 'out')], { encoding: 'utf8', env: { ...process.env, XNORCAM_LOG_LEVEL: 'info' } });
      expect(r.status, r.stderr).toBe(0);
      const said = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, string>).find((l) => l.msg === 'only traffic classes are tracked and counted');
      expect(said, r.stderr).toMatchObject({ source: 'road', tracked: 'car', leftOut: 'van, lorry' });
      expect(said!.keepThem).toContain('--classes all');
    } finally {
      dir.cleanup();
    }
  });
});
