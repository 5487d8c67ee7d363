/**
 * YOLO-format datasets: DIR/images/<name>.(png|jpg|jpeg|bmp|webp), DIR/labels/<name>.txt with lines
 * `class cx cy w h [score]` relative to the image, DIR/classes.txt with one class name per line.
 * An image without a label file has no objects (counted in `xnorcam eval`'s output); a box
 * value outside [0, 1] is an error naming the file and line. Class -1 is an ignore region (an object the labeller
 * was unsure of, as `xnorcam specialise` writes them); a score (the trainer's soft label) is read
 * and not used: every labelled box is an object here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { inputError, UserError } from '../core/errors.js';

export interface YoloLabel {
  classId: number;
  /** Relative to the image: centre x, centre y, width, height in [0, 1]. */
  cx: number;
  cy: number;
  w: number;
  h: number;
}

export interface YoloItem {
  image: string;
  labels: YoloLabel[];
  /** Whether the image has a label file (one without has no objects, as YOLO tools read it). */
  labelled: boolean;
}

export interface YoloDataset {
  dir: string;
  classes: string[];
  items: YoloItem[];
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.webp']);

export function readYoloDataset(dir: string): YoloDataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`${dir}: no such dataset directory`);
  const classesFile = path.join(dir, 'classes.txt');
  if (!existsSync(classesFile)) throw new UserError(`${classesFile}: missing (a YOLO dataset needs classes.txt, images/ and labels/)`);
  const classes = readFileSync(classesFile, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  if (classes.length === 0) throw new UserError(`${classesFile}: no class names`);
  const imgDir = path.join(dir, 'images');
  if (!existsSync(imgDir)) throw new UserError(`${imgDir}: missing (a YOLO dataset needs images/ and labels/)`);
  const labelDir = path.join(dir, 'labels');
  // Without it every image would read as empty of objects: a score of 0 for the wrong reason.
  if (!existsSync(labelDir) || !statSync(labelDir).isDirectory()) throw new UserError(`${labelDir}: missing (a YOLO dataset needs images/ and labels/)`);
  const files = readdirSync(imgDir).filter((f) => IMAGE_EXT.has(path.extname(f).toLowerCase())).sort();
  if (files.length === 0) throw new UserError(`${imgDir}: no images`);
  const items = files.map((f) => {
    const labelFile = path.join(labelDir, path.basename(f, path.extname(f)) + '.txt');
    const labelled = existsSync(labelFile);
    return { image: path.join(imgDir, f), labels: labelled ? parseLabels(readFileSync(labelFile, 'utf8'), labelFile, classes.length) : [], labelled };
  });
  return { dir, classes, items };
}

export function parseLabels(text: string, file: string, numClasses: number): YoloLabel[] {
  const out: YoloLabel[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const parts = line.split(/\s+/);
    const nums = parts.map(Number);
    if ((parts.length !== 5 && parts.length !== 6) || nums.some((n) => !Number.isFinite(n))) throw inputError(file, i + 1, 'expected "class cx cy w h" or "class cx cy w h score"');
    const [c, cx, cy, w, h] = nums;
    if (!Number.isInteger(c) || c < -1 || c >= numClasses) throw inputError(file, i + 1, `class ${parts[0]} is not in classes.txt (${numClasses} classes) nor -1 (an ignore region)`);
    if (parts.length === 6 && !(nums[5] > 0 && nums[5] <= 1)) throw inputError(file, i + 1, `score ${parts[5]} is not in (0, 1]`);
    const outside = ([['cx', cx], ['cy', cy], ['w', w], ['h', h]] as const).find(([, value]) => !(value >= 0 && value <= 1));
    if (outside) throw inputError(file, i + 1, `${outside[0]} ${outside[1]} is not in [0, 1] (YOLO labels are relative to the image)`);
    if (w > 0 && h > 0) out.push({ classId: c, cx, cy, w, h });
  });
  return out;
}
