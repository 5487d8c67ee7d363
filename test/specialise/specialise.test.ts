import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModelFile } from '../../src/engine/model-file/format.js';
import { vehicleAgreement } from '../../src/specialise/agreement.js';
import { operatingPointFrames, THRESHOLD_CANDIDATES } from '../../src/specialise/specialise.js';
import { ignoreRegions, UNSURE_CHOICES, type LabelledFrame, type UnsureChoice } from '../../src/specialise/pseudo-label.js';
import { checkWorkOptions } from '../../src/specialise/work-options.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = resolve(root, '..', 'shared', 'fixtures', 'yolo-fastest');
const run = (cwd: string | undefined, args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'xnorcam.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' } });
const xnorcam = (...args: string[]) => run(undefined, args);

describe('xnorcam specialise (toy scale)', () => {
  it('samples, pseudo-labels with a real teacher, trains, packs with a model card, and resumes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-spec-'));
    const video = join(dir, 'cam.mp4');
    const synth = xnorcam('synth', 'video', '--out', video, '--seconds', '6', '--seed', '11', '--size', '320x180');
    expect(synth.status, synth.stderr).toBe(0);

    const out = join(dir, 'cam.xnor');
    // Started from the camera's folder with relative paths, as a user would: the trainer runs elsewhere.
    const args = [
      'specialise', '--teacher', join(fixture, 'yolo-fastest-1.1.cfg'), '--teacher-weights', join(fixture, 'yolo-fastest-1.1.weights'),
      '--names', join(fixture, 'coco.names'), '--source', 'cam.mp4', '--frames', '16', '--teacher-thresh', '0.2', '--max-steps', '2', '--input', 'teacher', '-o', 'cam.xnor',
    ];
    const inDir = (a: string[]) => run(dir, a);
    const first = inDir(args);
    expect(first.status, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout.trim().split('\n').pop()!);
    expect(report.frames.train + report.frames.validation).toBe(16);
    expect(report.frames.validation).toBe(5);
    expect(report.frames.teacherBoxes).toBeGreaterThan(0);
    // The footage each part covers: together the 6 s video, the held-out part its last 5 of 16 sampling intervals
    // (0.375 s each); under an hour of footage earns the note.
    expect(report.frames.trainSec + report.frames.heldOutSec).toBeCloseTo(6, 0);
    expect(report.frames.heldOutSec).toBeCloseTo((6 * 5) / 16, 1);
    expect(first.stdout).toMatch(/frames: 11 train over 4s of footage, 5 held out over the following 2s \(the last part/);
    expect(first.stdout).toContain('note: the student learned from 4s of footage;');
    expect(first.stderr).toContain('sampled 16 frames over 6s of footage');
    for (const k of ['precision', 'recall', 'f1']) expect(report.agreement.vehicles[k]).toBeGreaterThanOrEqual(0);
    expect(report.teacher.msPerFrame).toBeGreaterThan(0);
    expect(report.student.msPerFrame).toBeGreaterThan(0);
    // The student's checkpoint is chosen as the report judges it: any vehicle class as one.
    expect(first.stdout + first.stderr).toContain('best checkpoint by validation class-agnostic AP@0.5');
    // Without --base the student starts from the bundled model's shipped checkpoint, at the input asked for (the
    // teacher's own, 320x320)...
    expect(report.student.base).toBe(join(root, 'models', 'xnorcam-traffic.pt'));
    expect(report.student.input).toBe('320x320');
    expect(first.stdout).toContain('student 320x320 at its operating threshold');
    // ...and the bundled default model is scored on the same held-out frames for comparison.
    expect(report.baseline.model).toBe(join(root, 'models', 'xnorcam-traffic.xnor'));
    expect(report.baseline.vehicles.f1).toBeGreaterThanOrEqual(0);
    expect(first.stdout).toMatch(/bundled model alone, same frames \(threshold [0-9.]+\): vehicles F1/);
    // The teacher against itself (mirrored frames) is reported as the ceiling for the student's figures.
    expect(report.teacherStability.f1).toBeGreaterThanOrEqual(0);
    expect(report.teacherStability.f1).toBeLessThanOrEqual(1);
    expect(first.stdout).toMatch(/teacher stability .*: vehicles F1 [0-9.]+%/);
    // Not counting student boxes on objects the teacher was unsure of can only remove false positives.
    const strict = report.agreement.vehicles;
    const lenient = report.agreement.vehiclesIgnoringUncertain;
    expect(lenient.truePositives).toBe(strict.truePositives);
    expect(lenient.falsePositives).toBeLessThanOrEqual(strict.falsePositives);
    // Each model is judged at its own operating point, picked on training frames from a fixed grid.
    expect(THRESHOLD_CANDIDATES).toContain(report.student.thresh);
    expect(THRESHOLD_CANDIDATES).toContain(report.baseline.thresh);
    // The held-out frames never reach the trainer: it validates on the last training frames.
    const trainerLog = readFileSync(join(`${out}.work`, 'run', 'log.jsonl'), 'utf8');
    expect(trainerLog).toMatch(/on 11 images \(0 for validation\)/);
    // --train-precision auto (the default): bfloat16 exactly where this CPU has AMX.
    const nativeBf16 = /^flags\s*:.*\bamx_bf16\b/m.test(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '');
    expect(trainerLog).toContain(nativeBf16 ? 'bfloat16 autocast: on (--bf16 auto: this CPU has' : 'bfloat16 autocast: off (--bf16 auto');
    // --box-loss, --flip and --zoom reach the trainer (defaults: CIoU, the bundled model's own; no mirrored frames of a fixed view; zoom up to 1.35x)
    expect(trainerLog).toContain('"msg": "box loss: ciou; mirrored images: off; zoom up to 1.35x; batch norm statistics re-estimated from 512 training images');

    // The held-out frames are the last part of the time range: every one later than every training frame.
    const work = `${out}.work`;
    const frames = JSON.parse(readFileSync(join(work, 'labels.json'), 'utf8')) as { file: string; timeSec: number }[];
    const valNames = new Set(readdirSync(join(work, 'val', 'images')));
    const trainTimes = frames.filter((f) => !valNames.has(f.file.split('/').pop()!)).map((f) => f.timeSec);
    const valTimes = frames.filter((f) => valNames.has(f.file.split('/').pop()!)).map((f) => f.timeSec);
    expect(Math.min(...valTimes)).toBeGreaterThan(Math.max(...trainTimes));

    // The teacher's unsure boxes (scores from --teacher-ignore 0.1 up to --teacher-thresh 0.2) are never positives:
    // the training labels hold exactly the ignore regions (class -1) that --unsure (recorded in the work folder) makes of them.
    const labelled = JSON.parse(readFileSync(join(work, 'labels.json'), 'utf8')) as LabelledFrame[];
    for (const f of labelled) for (const u of f.uncertain!) expect(u.score >= 0.1 && u.score < 0.2).toBe(true);
    const unsure = (JSON.parse(readFileSync(join(work, 'options.json'), 'utf8')) as Record<string, UnsureChoice>)['--unsure'];
    expect(UNSURE_CHOICES).toContain(unsure);
    const trainFrames = labelled.filter((f) => !valNames.has(f.file.split('/').pop()!));
    const ignoreLines = readdirSync(join(work, 'train', 'labels')).reduce(
      (n, f) => n + readFileSync(join(work, 'train', 'labels', f), 'utf8').split('\n').filter((l) => l.startsWith('-1 ')).length,
      0,
    );
    expect(ignoreLines).toBe(ignoreRegions(trainFrames, unsure).flat().length);

    // Beside the held-out figure, the student's agreement on the training frames (all 11 here) at the same threshold:
    // the teacher's vehicles there, found or missed, are its recall's denominator.
    const onTraining = report.agreement.onTrainingFrames;
    expect(onTraining.frames).toBe(11);
    const teacherVehicles = vehicleAgreement(trainFrames.map((f) => ({ teacher: f.labels, student: [] }))).falseNegatives;
    expect(teacherVehicles).toBeGreaterThan(0);
    expect(onTraining.vehicles.truePositives + onTraining.vehicles.falseNegatives).toBe(teacherVehicles);
    expect(first.stdout).toContain(`on 11 of its training frames, for comparison: vehicles F1 ${(100 * onTraining.vehicles.f1).toFixed(1)}%`);

    // The model loads at the asked input size, and its card says where it came from.
    const model = readModelFile(out);
    expect([model.spec.net.width, model.spec.net.height]).toEqual([320, 320]);
    expect(model.classNames).toEqual(['car', 'truck', 'bus', 'motorcycle', 'bicycle', 'person']);
    expect(model.card).toMatchObject({ kind: 'specialised', source: video, teacher: { weights: join(fixture, 'yolo-fastest-1.1.weights') } });
    expect((model.card as { agreement: { vehicles: { f1: number } } }).agreement.vehicles.f1).toBe(report.agreement.vehicles.f1);

    // A second run finds every step done and only re-scores.
    const again = inDir(args);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/training xnor/);
    expect(JSON.parse(again.stdout.trim().split('\n').pop()!).frames).toEqual(report.frames);
    expect(existsSync(join(work, 'report.json'))).toBe(true);

    // Other options over the same work folder would re-score a student made another way: refused, in one line.
    const other = args.map((a, i) => (args[i - 1] === '--teacher-thresh' ? '0.25' : a));
    const refused = inDir(other);
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain(`${work}: this work folder was made with other options (--teacher-thresh 0.2 -> 0.25)`);

    // A folder from before an option was recorded is compared with what it did then, not with today's
    // default: fp32 before --train-precision, YOLOv3's terms before --box-loss, mirroring before --flip, the
    // best checkpoint by mAP@0.5 before the class-agnostic choice, every unsure box an ignore region before --unsure.
    const optionsFile = join(work, 'options.json');
    const recorded = JSON.parse(readFileSync(optionsFile, 'utf8')) as Record<string, unknown>;
    const { ['--box-loss']: loss, ['--train-precision']: precision, ['--flip']: flip, ['checkpoint chosen by']: choice, ['--unsure']: unsureRecorded, ...older } = recorded;
    expect([loss, precision, flip, choice, unsureRecorded]).toEqual(['ciou', 'auto', 'off', 'agnostic', 'neighbours']);
    writeFileSync(optionsFile, JSON.stringify(older));
    const legacy = inDir(args);
    expect(legacy.status).toBe(2);
    expect(legacy.stderr).toContain('(--unsure ignore -> neighbours, --train-precision fp32 -> auto, --box-loss yolov3 -> ciou, --flip on -> off, checkpoint chosen by map -> agnostic)');
  }, 180_000);

  it('chooses operating points on every k-th training frame, at most 150 of them', () => {
    const frames = (n: number) => Array.from({ length: n }, (_, i) => i);
    expect(operatingPointFrames(frames(11))).toEqual(frames(11));
    expect(operatingPointFrames(frames(150))).toHaveLength(150);
    const of420 = operatingPointFrames(frames(420));
    expect(of420).toHaveLength(140);
    expect(of420.slice(0, 3)).toEqual([0, 3, 6]);
    expect(operatingPointFrames(frames(151))).toHaveLength(76);
  });

  it('refuses an unknown --train-precision, --device, --box-loss, --flip, --unsure, --zoom or --input in one line, before it samples a frame', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'xnorcam-spec-')), 'never.xnor');
    const teacher = ['--teacher', join(fixture, 'yolo-fastest-1.1.cfg'), '--teacher-weights', join(fixture, 'yolo-fastest-1.1.weights')];
    const refusals: [flag: string, value: string, error: string][] = [
      ['--train-precision', 'fp16', 'expected one of auto, fp32, bf16'],
      ['--device', 'tpu', 'expected cpu, cuda, cuda:N or mps'],
      ['--box-loss', 'giou', 'expected one of yolov3, ciou'],
      ['--flip', 'maybe', 'expected one of on, off'],
      ['--unsure', 'maybe', 'expected one of ignore, background, neighbours, soft'],
      ['--zoom', '0.9', 'expected a number from 1 (no zoom) to 3'],
      ['--input', '500x280', 'expected auto, base, teacher, or WxH in positive multiples of 32, e.g. 512x288'],
    ];
    for (const [flag, value, error] of refusals) {
      const r = xnorcam('specialise', ...teacher, '--source', 'x.mp4', flag, value, '-o', out);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe(`error: ${flag} ${value}: ${error}`);
    }
    expect(existsSync(`${out}.work`)).toBe(false);
  });

  it('resumes a work folder that recorded a camera\'s password (made before it was hidden), and drops the password from it', () => {
    const work = mkdtempSync(join(tmpdir(), 'xnorcam-spec-work-'));
    writeFileSync(join(work, 'options.json'), JSON.stringify({ '--source': 'rtsp://viewer:OldSecret3@10.0.0.5/cam', '--frames': 12 }));
    expect(checkWorkOptions(work, { '--source': 'rtsp://viewer:***@10.0.0.5/cam', '--frames': 12 })).toMatchObject({ '--frames': 12 });
    expect(readFileSync(join(work, 'options.json'), 'utf8')).not.toContain('OldSecret3');
    // Another camera is still another option, named without its password.
    expect(() => checkWorkOptions(work, { '--source': 'rtsp://viewer:***@10.0.0.6/cam', '--frames': 12 })).toThrow(/--source rtsp:\/\/viewer:\*\*\*@10\.0\.0\.5\/cam -> rtsp:\/\/viewer:\*\*\*@10\.0\.0\.6\/cam/);
  });

  it('refuses a live source without --minutes, in one line', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'xnorcam-spec-')), 'never.xnor');
    const r = xnorcam('specialise', '--teacher', join(fixture, 'yolo-fastest-1.1.cfg'), '--teacher-weights', join(fixture, 'yolo-fastest-1.1.weights'), '--names', join(fixture, 'coco.names'), '--source', 'rtsp://127.0.0.1:1/none', '-o', out);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/needs --minutes/);
    // nothing was made, so nothing binds the corrected command to this run's options, and no empty folder is left
    expect(existsSync(`${out}.work`)).toBe(false);
    // nor for an unknown class name or a missing file
    for (const [args, error] of [[['--source', 'x.mp4', '--classes', 'car,lorry'], /lorry/], [['--source', join(dirname(out), 'missing.mp4')], /missing\.mp4/]] as const) {
      const bad = xnorcam('specialise', '--teacher', join(fixture, 'yolo-fastest-1.1.cfg'), '--teacher-weights', join(fixture, 'yolo-fastest-1.1.weights'), '--names', join(fixture, 'coco.names'), ...args, '-o', out);
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(error);
      expect(existsSync(`${out}.work`)).toBe(false);
    }
  });
});
