import { describe, expect, it } from 'vitest';
import { agreement, mergeVehicleDuplicates, vehicleAgreement, type LabelledBox } from '../../src/specialise/agreement.js';
import { teacherClassMap } from '../../src/specialise/class-map.js';

const box = (className: string, x: number, y: number, score = 0.9, w = 40, h = 30): LabelledBox => ({ className, score, box: [x, y, x + w, y + h] });

describe('student/teacher agreement', () => {
  it('counts matches, misses and extras (hand-computed)', () => {
    const frames = [
      // frame 1: two teacher cars; student finds one exactly, one shifted by half a box (IoU 1/3), plus an extra
      { teacher: [box('car', 0, 0), box('car', 100, 100)], student: [box('car', 0, 0), box('car', 120, 100), box('car', 300, 300, 0.4)] },
      // frame 2: a bus the student calls a truck, and a person it finds
      { teacher: [box('bus', 10, 10), box('person', 200, 50, 0.8, 10, 30)], student: [box('truck', 10, 10), box('person', 201, 50, 0.7, 10, 30)] },
    ];
    const exact = agreement(frames);
    // exact: TP = car(0,0) + person; FP = shifted car (IoU 1/3) + extra car + truck; FN = car(100,100) + bus
    expect(exact).toMatchObject({ truePositives: 2, falsePositives: 3, falseNegatives: 2 });
    expect(exact.precision).toBeCloseTo(2 / 5);
    expect(exact.recall).toBeCloseTo(2 / 4);
    expect(exact.f1).toBeCloseTo((2 * 0.4 * 0.5) / 0.9);
    // vehicles: the bus/truck pair counts, the person is not a vehicle
    const vehicles = vehicleAgreement(frames);
    expect(vehicles).toMatchObject({ truePositives: 2, falsePositives: 2, falseNegatives: 1 });
    expect(vehicles.f1).toBeCloseTo((2 * (2 / 4) * (2 / 3)) / (2 / 4 + 2 / 3));
  });

  it('matches each teacher box at most once, best score first', () => {
    const frames = [{ teacher: [box('car', 0, 0)], student: [box('car', 1, 0, 0.5), box('car', 0, 0, 0.95)] }];
    expect(agreement(frames)).toMatchObject({ truePositives: 1, falsePositives: 1, falseNegatives: 0 });
  });

  it('counts a vehicle boxed twice under two classes once, for teacher and student alike', () => {
    const van = [box('car', 0, 0, 0.8), box('truck', 1, 0, 0.4)];
    expect(mergeVehicleDuplicates(van).map((b) => b.className)).toEqual(['car']);
    // a person overlapping a motorcycle is a different object
    expect(mergeVehicleDuplicates([box('motorcycle', 0, 0), box('person', 0, 0, 0.5)])).toHaveLength(2);
    // teacher says car+truck, student says truck: one vehicle found, nothing missed
    expect(vehicleAgreement([{ teacher: van, student: [box('truck', 0, 0, 0.7)] }])).toMatchObject({ truePositives: 1, falsePositives: 0, falseNegatives: 0 });
    // without merging the exact-class figure still sees two teacher boxes
    expect(agreement([{ teacher: van, student: [box('truck', 0, 0, 0.7)] }])).toMatchObject({ truePositives: 1, falseNegatives: 1 });
  });

  it('optionally does not count a student box on an object the teacher was unsure of', () => {
    const frames = [{ teacher: [box('car', 0, 0)], student: [box('car', 0, 0), box('car', 200, 0, 0.6), box('car', 400, 0, 0.5)], uncertain: [box('car', 200, 0, 0.2)] }];
    expect(vehicleAgreement(frames)).toMatchObject({ truePositives: 1, falsePositives: 2 });
    expect(vehicleAgreement(frames, 0.5, true)).toMatchObject({ truePositives: 1, falsePositives: 1, falseNegatives: 0 });
  });

  it('is perfect for identical labels and defined for empty frames', () => {
    const labels = [box('car', 5, 5), box('bus', 80, 10, 0.6, 100, 60)];
    expect(agreement([{ teacher: labels, student: labels }]).f1).toBe(1);
    expect(agreement([{ teacher: [], student: [] }])).toMatchObject({ precision: 1, recall: 1, f1: 1 });
  });
});

describe('teacher class mapping', () => {
  const coco = ['person', 'bicycle', 'car', 'motorbike', 'aeroplane', 'bus', 'train', 'truck'];
  it('maps COCO names (motorbike → motorcycle) and drops other classes', () => {
    const map = teacherClassMap(coco, ['car', 'truck', 'bus', 'motorcycle', 'bicycle', 'person']);
    expect(Array.from(map)).toEqual([5, 4, 0, 3, -1, 2, -1, 1]);
  });
  it('refuses a wanted class the teacher cannot label, and a non-traffic class', () => {
    expect(() => teacherClassMap(['person', 'car'], ['car', 'bus'])).toThrow(/no class for 'bus'/);
    expect(() => teacherClassMap(coco, ['car', 'train'])).toThrow(/'train' is not a traffic class/);
  });
});
