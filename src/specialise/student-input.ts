import { UserError } from '../core/errors.js';

/**
 * `--input` values: `auto` sizes the student to the camera's frames, `base` keeps the base checkpoint's
 * input size, `teacher` takes the teacher's own network input, `WxH` asks for one.
 */
export type StudentInput = 'auto' | 'base' | 'teacher' | `${number}x${number}`;

/**
 * The long side of an `auto` student input. From the 640×384 base, a 512-wide student agreed with its
 * teacher far better than 320×192 ones (small, distant vehicles keep enough pixels) at 2.4× their
 * cost per frame and per training step, which a 2-core CPU still trains in minutes (docs/specialise.md).
 */
export const AUTO_LONG_SIDE = 512;

/** Parses `--input`: auto, base, teacher, or WxH in positive multiples of 32 (the network's stride). */
export function parseStudentInput(text: string): StudentInput {
  const t = text.trim().toLowerCase();
  if (t === 'auto' || t === 'base' || t === 'teacher') return t;
  const m = /^(\d+)x(\d+)$/.exec(t);
  if (!m || Number(m[1]) % 32 || Number(m[2]) % 32 || Number(m[1]) === 0 || Number(m[2]) === 0) {
    throw new UserError(`--input ${text}: expected auto, base, teacher, or WxH in positive multiples of 32, e.g. 512x288`, 2);
  }
  return `${Number(m[1])}x${Number(m[2])}`;
}

/** A side rounded to the nearest multiple of the network's stride, never below one stride. */
const toStride = (v: number) => Math.max(32, Math.round(v / 32) * 32);

/** The frame's aspect ratio at a long side of AUTO_LONG_SIDE, both sides rounded to multiples of 32. */
export function autoStudentInput(frameWidth: number, frameHeight: number): `${number}x${number}` {
  const scale = AUTO_LONG_SIDE / Math.max(frameWidth, frameHeight);
  return `${toStride(frameWidth * scale)}x${toStride(frameHeight * scale)}`;
}

/**
 * The trainer's `--size` for a student input: null keeps the base checkpoint's. `teacher` is the teacher's network
 * input (in multiples of 32): the student then sees each frame at the scale its labels were made at.
 */
export function trainerSize(input: StudentInput, frame: { width: number; height: number }, teacher: { width: number; height: number }): string | null {
  if (input === 'base') return null;
  if (input === 'teacher') return `${toStride(teacher.width)}x${toStride(teacher.height)}`;
  return input === 'auto' ? autoStudentInput(frame.width, frame.height) : input;
}
