import { describe, expect, it } from 'vitest';
import { AUTO_LONG_SIDE, autoStudentInput, parseStudentInput, trainerSize } from '../../src/specialise/student-input.js';

describe("specialise's student input size", () => {
  it('auto keeps the camera frame aspect at a 512-pixel long side, in multiples of 32', () => {
    expect(AUTO_LONG_SIDE).toBe(512);
    expect(autoStudentInput(640, 360)).toBe('512x288'); // 16:9
    expect(autoStudentInput(1920, 1080)).toBe('512x288');
    expect(autoStudentInput(640, 480)).toBe('512x384'); // 4:3
    expect(autoStudentInput(320, 240)).toBe('512x384'); // a small camera is enlarged, as its distant vehicles need
    expect(autoStudentInput(720, 1280)).toBe('288x512'); // portrait
    expect(autoStudentInput(4000, 100)).toBe('512x32'); // never below one stride
  });

  it('parses auto, base, teacher and WxH, and refuses anything else in one line naming the flag', () => {
    expect(parseStudentInput('auto')).toBe('auto');
    expect(parseStudentInput('Teacher')).toBe('teacher');
    expect(parseStudentInput(' Base ')).toBe('base');
    expect(parseStudentInput('320X256')).toBe('320x256');
    for (const bad of ['320x250', '0x32', 'big', '320']) expect(() => parseStudentInput(bad)).toThrow(`--input ${bad}: expected auto, base, teacher, or WxH`);
  });

  it("gives the trainer a size for auto, teacher and WxH, none for base (the checkpoint's own)", () => {
    const frame = { width: 640, height: 360 };
    const teacher = { width: 320, height: 320 };
    expect(trainerSize('auto', frame, teacher)).toBe('512x288');
    expect(trainerSize('teacher', frame, teacher)).toBe('320x320');
    expect(trainerSize('teacher', frame, { width: 416, height: 250 })).toBe('416x256'); // rounded to the stride
    expect(trainerSize('320x256', frame, teacher)).toBe('320x256');
    expect(trainerSize('base', frame, teacher)).toBeNull();
  });
});
