import { describe, expect, it } from 'vitest';
import { trainerOutcome, trainerOutcomeError } from '../../src/train/trainer-process.js';

describe('how a trainer run ended, as xnorcam train and specialise report it', () => {
  it('tells an interruption (resume), a kill (resume from the last periodic checkpoint) and a refusal (do not rerun) apart', () => {
    expect(trainerOutcome({ code: 0, signal: null })).toEqual({ kind: 'done' });
    // the trainer saved last.pt and exited 130; or it was stopped by Ctrl-C/SIGTERM before it could
    expect(trainerOutcome({ code: 130, signal: null })).toEqual({ kind: 'interrupted' });
    expect(trainerOutcome({ code: null, signal: 'SIGTERM' })).toEqual({ kind: 'interrupted' });
    // the out-of-memory killer is no interruption the user asked for
    expect(trainerOutcome({ code: null, signal: 'SIGKILL' })).toEqual({ kind: 'killed', signal: 'SIGKILL' });
    // a cfg typo, a --val with other classes (exit 1), a bad argument (exit 2): running it again cannot help
    expect(trainerOutcome({ code: 1, signal: null })).toEqual({ kind: 'failed', code: 1 });
    expect(trainerOutcome({ code: 2, signal: null })).toEqual({ kind: 'failed', code: 2 });

    const resume = 'run the same command again to resume';
    const interrupted = trainerOutcomeError({ kind: 'interrupted' }, "the student's training", resume);
    expect([interrupted.message, interrupted.exitCode]).toEqual(["the student's training was interrupted; run the same command again to resume", 130]);
    const killed = trainerOutcomeError({ kind: 'killed', signal: 'SIGKILL' }, 'xnorcam train: the run', resume, ', so m.xnor was not written');
    expect([killed.message, killed.exitCode]).toEqual([
      'xnorcam train: the run was killed by SIGKILL (out of memory?), so m.xnor was not written; run the same command again to resume (from its last periodic checkpoint)',
      137,
    ]);
    const failed = trainerOutcomeError({ kind: 'failed', code: 1 }, "the student's training", resume);
    expect([failed.message, failed.exitCode]).toEqual(["the student's training failed (the trainer's message is above; exit 1)", 1]);
    expect(failed.message).not.toMatch(/again/);
  });
});
