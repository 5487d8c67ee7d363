import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createProgress } from '../../src/core/progress.js';

/** A terminal's stderr as far as progress can tell: isTTY, everything written kept. */
function terminal(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) }) as unknown as NodeJS.WriteStream;
  (w as { isTTY?: boolean }).isTTY = true;
  return { stream: w, text: () => chunks.join('') };
}

describe('progress', () => {
  const ci = process.env.CI;
  afterEach(() => {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  });

  it('says a warning on a line of its own while the bar runs on a terminal, and draws the bar again under it', () => {
    delete process.env.CI; // the bar is drawn on a terminal only outside CI
    const t = terminal();
    const p = createProgress('batch', 10, { stream: t.stream, unit: 'frames', intervalMs: 0 });
    p.update(3);
    p.say('batch: cam: calibration: a warning');
    const text = t.text();
    // Cleared, the warning and its newline, then the bar again (it ran into the bar's line before).
    expect(text).toMatch(/\r\x1b\[2Kbatch: cam: calibration: a warning\nbatch  \[#+\.+\]  3\/10 frames/);
  });

  it('says it as a plain line before any bar is drawn, and off a terminal', () => {
    process.env.CI = 'true';
    const t = terminal();
    const p = createProgress('batch', 10, { stream: t.stream, unit: 'frames', intervalMs: 0 });
    p.say('batch: cam: one');
    p.update(3);
    p.say('batch: cam: two');
    expect(t.text().split('\n').filter((l) => l.startsWith('batch: cam'))).toEqual(['batch: cam: one', 'batch: cam: two']);
    expect(t.text()).not.toContain('\r');
  });
});
