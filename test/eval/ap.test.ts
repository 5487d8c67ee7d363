import { describe, expect, it } from 'vitest';
import { classAp, evaluate, evaluateClassAgnostic, IGNORE_REGION, interpolatedAp, type ImageResult } from '../../src/eval/ap.js';
import { parseLabels } from '../../src/eval/dataset.js';
import type { Box } from '../../src/core/types.js';

const det = (classId: number, score: number, box: Box) => ({ classId, score, box });
const gt = (classId: number, box: Box) => ({ classId, box });

describe('COCO average precision', () => {
  it('interpolates precision at 101 recall points', () => {
    // recall 0.5 at precision 1, recall 1 at precision 2/3 (after an FP): by hand,
    // points r = 0..0.50 (51 of them) read 1, r = 0.51..1 (50) read 2/3.
    const ap = interpolatedAp([1, 0.5, 2 / 3], [0.5, 0.5, 1]);
    expect(ap).toBeCloseTo((51 + 50 * (2 / 3)) / 101, 12);
    // recall never reaches 1: points beyond the last recall read 0.
    expect(interpolatedAp([1], [0.5])).toBeCloseTo(51 / 101, 12);
  });

  it('matches detections greedily by score; a second hit on the same truth is a false positive', () => {
    const images: ImageResult[] = [
      {
        truths: [gt(0, [0, 0, 10, 10]), gt(0, [20, 20, 30, 30])],
        detections: [det(0, 0.9, [0, 0, 10, 10]), det(0, 0.8, [0, 0, 10, 10]), det(0, 0.7, [20, 20, 30, 30])],
      },
    ];
    const { aps, truths, detections } = classAp(images, 0, [0.5]);
    expect(truths).toBe(2);
    expect(detections).toBe(3);
    expect(aps[0]).toBeCloseTo((51 + 50 * (2 / 3)) / 101, 12);
  });

  it('ignores difficult truths as PASCAL VOC does: a hit on one neither counts nor costs, a miss costs no recall', () => {
    const hard = (box: Box) => ({ classId: 0, box, difficult: true });
    const images: ImageResult[] = [
      {
        truths: [gt(0, [0, 0, 10, 10]), hard([20, 20, 24, 24]), hard([40, 40, 44, 44])],
        // the top detection sits on a difficult truth, the second on nothing, the third on the real one
        detections: [det(0, 0.9, [20, 20, 24, 24]), det(0, 0.8, [60, 60, 70, 70]), det(0, 0.7, [0, 0, 10, 10])],
      },
    ];
    const { aps, truths } = classAp(images, 0, [0.5]);
    expect(truths).toBe(1);
    // counted: a false positive, then the hit at precision 1/2 (the difficult hit is neither)
    expect(aps[0]).toBeCloseTo(interpolatedAp([0, 0.5], [0, 1]), 12);
    expect(aps[0]).toBeCloseTo(0.5, 12);
    // the same without the flag: the first detection is a hit, and the real truth is one of three
    const plain = images.map((im) => ({ ...im, truths: im.truths.map((t) => ({ classId: t.classId, box: t.box })) }));
    expect(classAp(plain, 0, [0.5]).aps[0]).toBeCloseTo(interpolatedAp([1, 0.5, 2 / 3], [1 / 3, 1 / 3, 2 / 3]), 12);
    // a class whose every truth is difficult has no AP and stays out of the mean
    expect(evaluate([{ truths: [hard([0, 0, 5, 5])], detections: [] }], 1).perClass).toEqual([]);
  });

  it('treats an ignore region (class -1, difficult) as a difficult truth of every class, class-agnostic too', () => {
    const region = { classId: IGNORE_REGION, box: [20, 20, 24, 24] as Box, difficult: true };
    // class 0 and class 1 each have one real object; a detection of each class sits on the region
    const images: ImageResult[] = [
      {
        truths: [gt(0, [0, 0, 10, 10]), gt(1, [50, 50, 60, 60]), region],
        detections: [det(0, 0.9, [20, 20, 24, 24]), det(1, 0.85, [20, 20, 24, 24]), det(0, 0.8, [0, 0, 10, 10]), det(1, 0.7, [50, 50, 60, 60])],
      },
    ];
    const s = evaluate(images, 2);
    expect(s.perClass.map((c) => [c.classId, c.truths, c.ap50])).toEqual([
      [0, 1, 1],
      [1, 1, 1],
    ]);
    // without the region both top detections would be false positives
    const without = evaluate([{ ...images[0], truths: images[0].truths.slice(0, 2) }], 2);
    expect(without.map50).toBeCloseTo(0.5, 12);
    // class-agnostic, the region absorbs both detections on it, as a crowd region does
    const agnostic = evaluateClassAgnostic(images).perClass[0];
    expect(agnostic.truths).toBe(2);
    expect(agnostic.ap50).toBeCloseTo(1, 12);
  });

  it('matches a detection to a real truth before an ignore region or difficult truth on the same object', () => {
    // xnorcam specialise writes an ignore region where the teacher was unsure of a second class on an object it
    // also boxed confidently: the same box twice, the region after the object or before it
    for (const order of ['object first', 'region first']) {
      const object = gt(0, [0, 0, 10, 10]);
      const region = { classId: IGNORE_REGION, box: [0, 0, 10, 10] as Box, difficult: true };
      const truths = order === 'object first' ? [object, region] : [region, object];
      const hard = { classId: 0, box: [0, 0, 10, 10] as Box, difficult: true };
      const withHard = order === 'object first' ? [object, hard] : [hard, object];
      // one detection, on the object: found
      const one = [det(0, 0.9, [0, 0, 10, 10])];
      expect(classAp([{ truths, detections: one }], 0, [0.5]).aps[0], order).toBeCloseTo(1, 12);
      expect(classAp([{ truths: withHard, detections: one }], 0, [0.5]).aps[0], order).toBeCloseTo(1, 12);
      // a duplicate below it falls into the region: neither a hit nor a false positive
      const two = [...one, det(0, 0.8, [0, 1, 10, 11])];
      expect(classAp([{ truths, detections: two }], 0, [0.5]).aps[0], order).toBeCloseTo(1, 12);
      expect(classAp([{ truths: withHard, detections: two }], 0, [0.5]).aps[0], order).toBeCloseTo(1, 12);
    }
  });

  it('scores every class as one in the class-agnostic AP', () => {
    // a car boxed as a truck: a miss per class, a hit class-agnostic
    const images: ImageResult[] = [{ truths: [gt(0, [0, 0, 10, 10])], detections: [det(1, 0.9, [0, 0, 10, 10])] }];
    expect(evaluate(images, 2).map50).toBe(0);
    expect(evaluateClassAgnostic(images).map50).toBeCloseTo(1, 12);
  });

  it('averages over IoU thresholds 0.50..0.95 for mAP@0.5:0.95', () => {
    // IoU exactly 0.6: a hit at 0.50, 0.55 and 0.60, a miss at the 7 higher thresholds.
    const images: ImageResult[] = [{ truths: [gt(0, [0, 0, 10, 10])], detections: [det(0, 0.5, [0, 0, 10, 6])] }];
    const s = evaluate(images, 1);
    expect(s.map50).toBeCloseTo(1, 12);
    expect(s.map75).toBe(0);
    expect(s.map5095).toBeCloseTo(0.3, 12);
  });

  it('pools detections of all images and leaves classes without truth out of the mean', () => {
    const images: ImageResult[] = [
      { truths: [gt(0, [0, 0, 10, 10])], detections: [det(0, 0.6, [0, 0, 10, 10]), det(2, 0.99, [50, 50, 60, 60])] },
      // the highest-scoring class-0 detection is a false positive in another image
      { truths: [gt(1, [0, 0, 10, 10])], detections: [det(0, 0.9, [0, 0, 10, 10]), det(1, 0.3, [1, 1, 10, 10])] },
    ];
    const s = evaluate(images, 3);
    expect(s.perClass.map((c) => c.classId)).toEqual([0, 1]);
    // class 0: FP then TP → precision [0, 0.5], recall [0, 1] → envelope 0.5 everywhere.
    expect(s.perClass[0].ap50).toBeCloseTo(0.5, 12);
    // class 1: IoU 81/100 → TP up to 0.80, miss at 0.85..0.95.
    expect(s.perClass[1].ap50).toBe(1);
    expect(s.perClass[1].ap5095).toBeCloseTo(0.7, 12);
    expect(s.map50).toBeCloseTo(0.75, 12);
  });

  it('gives 0 for a class whose truths are never found', () => {
    const s = evaluate([{ truths: [gt(0, [0, 0, 10, 10])], detections: [det(0, 0.9, [40, 40, 50, 50])] }], 1);
    expect(s.map50).toBe(0);
  });
});

describe('YOLO labels', () => {
  it('parses class cx cy w h and names the bad line', () => {
    expect(parseLabels('1 0.5 0.5 0.2 0.1\n\n0 0.1 0.2 0.3 0.4\n', 'a.txt', 2)).toEqual([
      { classId: 1, cx: 0.5, cy: 0.5, w: 0.2, h: 0.1 },
      { classId: 0, cx: 0.1, cy: 0.2, w: 0.3, h: 0.4 },
    ]);
    expect(() => parseLabels('0 0.5 0.5 0.2\n', 'a.txt', 2)).toThrow(/^a\.txt:1: expected "class cx cy w h" or "class cx cy w h score"$/);
    expect(() => parseLabels('0 0.5 0.5 0.2 0.1\n7 0.5 0.5 0.2 0.1', 'b.txt', 2)).toThrow(/^b\.txt:2: class 7 is not in classes\.txt/);
    // the trainer's extensions: ignore regions (class -1) and a soft label's score, read and not used
    expect(parseLabels('-1 0.5 0.5 0.2 0.1\n1 0.1 0.2 0.3 0.4 0.25\n', 'c.txt', 2)).toEqual([
      { classId: -1, cx: 0.5, cy: 0.5, w: 0.2, h: 0.1 },
      { classId: 1, cx: 0.1, cy: 0.2, w: 0.3, h: 0.4 },
    ]);
    expect(() => parseLabels('1 0.1 0.2 0.3 0.4 1.5\n', 'd.txt', 2)).toThrow(/^d\.txt:1: score 1\.5 is not in \(0, 1\]$/);
    expect(() => parseLabels('-2 0.1 0.2 0.3 0.4\n', 'e.txt', 2)).toThrow(/^e\.txt:1: class -2 is not in classes\.txt/);
  });
});
