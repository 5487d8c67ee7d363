import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { absoluteSource } from '../ingest/source-spec.js';
import { writeAtomically } from '../core/write-atomically.js';
import type { SpecialiseOptions } from './specialise.js';
import { STUDENT_CHECKPOINT_CHOICE } from './student-checkpoint.js';

const OPTIONS_FILE = 'options.json';

/**
 * What a folder made before an option was recorded did: such a folder is compared with this value,
 * not with today's default. fp32: bfloat16 training came with the option; yolov3: the box loss
 * before CIoU; on: the trainer always mirrored half of the frames; map: its best checkpoint was the one of the
 * highest mAP@0.5; ignore: every unsure teacher box was an ignore region; 1.35: the trainer's zoom before it was an option.
 */
const BEFORE_RECORDED: Record<string, unknown> = { '--train-precision': 'fp32', '--box-loss': 'yolov3', '--flip': 'on', 'checkpoint chosen by': 'map', '--unsure': 'ignore', '--zoom': 1.35 };

/** What a work folder's steps depend on, keyed by the command-line flag that sets it. */
export function workOptions(o: SpecialiseOptions): Record<string, unknown> {
  // Model files by content, so a moved or copied teacher is still the same teacher.
  const file = (p: string | null | undefined) => (p ? `sha256 ${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16)}` : null);
  return {
    '--source': absoluteSource(o.source),
    '--frames': o.frames,
    '--minutes': o.minutes ?? null,
    '--classes': o.classes.join(','),
    '--teacher': file(o.teacherCfg),
    '--teacher-weights': file(o.teacherWeights),
    '--names': file(o.teacherNames),
    '--teacher-thresh': o.teacherThresh,
    '--teacher-ignore': o.teacherIgnore,
    '--unsure': o.unsure,
    '--holdout': o.holdout,
    '--base': file(o.init),
    '--input': o.studentInput,
    '--train-minutes': o.trainMinutes,
    '--train-precision': o.trainPrecision,
    '--box-loss': o.boxLoss,
    '--flip': o.flip,
    '--zoom': o.zoom,
    'checkpoint chosen by': STUDENT_CHECKPOINT_CHOICE,
    'trainer arguments': (o.trainerArgs ?? []).join(' '),
  };
}

/**
 * Resuming is only sound with the options the folder's steps were made with: with others, the run
 * would quietly re-score (or train on) a student made another way. Returns the recorded options.
 */
export function checkWorkOptions(work: string, options: Record<string, unknown>): Record<string, unknown> | null {
  const file = join(work, OPTIONS_FILE);
  const before = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : null;
  if (!before) return null;
  // Made before a camera's password was recorded hidden: compared hidden, and no longer kept on disk.
  const source = before['--source'];
  if (typeof source === 'string' && redactSecrets(source) !== source) {
    before['--source'] = redactSecrets(source);
    writeAtomically(file, JSON.stringify(before, null, 2));
  }
  for (const [flag, value] of Object.entries(BEFORE_RECORDED)) if (!(flag in before)) before[flag] = value;
  const shown = (v: unknown) => (v === null || v === '' ? 'none' : String(v));
  const changed = Object.keys(options).filter((k) => k in before && JSON.stringify(before[k]) !== JSON.stringify(options[k]));
  if (changed.length > 0) {
    const list = changed.map((k) => `${k} ${shown(before[k])} -> ${shown(options[k])}`).join(', ');
    throw new UserError(`${work}: this work folder was made with other options (${list}); give another --work folder or -o, or delete it to start over`, 2);
  }
  return before;
}

/**
 * Records the options once the folder holds a step's result: a run refused before that (a bad source,
 * a missing flag) leaves nothing that would refuse the corrected command. `before`: what
 * checkWorkOptions found (options added since are recorded too).
 */
export function recordWorkOptions(work: string, options: Record<string, unknown>, before: Record<string, unknown> | null): void {
  if (before && Object.keys(options).every((k) => k in before)) return;
  writeAtomically(join(work, OPTIONS_FILE), JSON.stringify({ ...before, ...options }, null, 2));
}
