import { describe, expect, it } from 'vitest';
import { AckWindow } from '../../src/server/ack-window.js';

/**
 * The flow control against a simulated link: frames of `frameBytes` at `fps` from the server, a link
 * of `bytesPerMs` with round trip `rttMs`, a page that acknowledges at once and then at most every
 * 200 ms (web/src/connection.ts). Returns the frames delivered a second and their median age on arrival.
 */
function simulate(o: { rttMs: number; bytesPerMs: number; fps?: number; frameBytes?: number; seconds?: number; dropAcksAfterMs?: number }) {
  const fps = o.fps ?? 15;
  const frameBytes = o.frameBytes ?? 30_000;
  const durMs = (o.seconds ?? 30) * 1000;
  const w = new AckWindow({ targetLagMs: 500, maxUnackedMs: 1000, resetMs: 5000, initialBytes: 256 * 1024 });
  const queue: { t: number; run: (t: number) => void }[] = [];
  const at = (t: number, run: (t: number) => void) => {
    queue.push({ t, run });
    queue.sort((a, b) => a.t - b.t);
  };
  let linkFreeAt = 0;
  let received = 0;
  let ackPending = false;
  let lastAck = -1e9;
  const ages: number[] = [];
  const arrivals: number[] = [];
  const ack = (t: number) => {
    lastAck = t;
    const n = received;
    if (o.dropAcksAfterMs !== undefined && t > o.dropAcksAfterMs) return;
    at(t + o.rttMs / 2, (tt) => w.acknowledged(n, tt));
  };
  for (let k = 0; (k * 1000) / fps < durMs; k++) {
    const made = (k * 1000) / fps;
    at(made, (t) => {
      if (!w.allows(frameBytes, t)) return;
      w.sentFrame(frameBytes, t);
      linkFreeAt = Math.max(t, linkFreeAt) + frameBytes / o.bytesPerMs;
      at(linkFreeAt + o.rttMs / 2, (ta) => {
        received++;
        ages.push(ta - made);
        arrivals.push(ta);
        if (ackPending) return;
        const wait = lastAck + 200 - ta;
        if (wait <= 0) return ack(ta);
        ackPending = true;
        at(ta + wait, (tt) => {
          ackPending = false;
          ack(tt);
        });
      });
    });
  }
  while (queue.length) {
    const e = queue.shift()!;
    e.run(e.t);
  }
  const sorted = [...ages].sort((a, b) => a - b);
  return { fps: received / (durMs / 1000), medianAgeMs: sorted[sorted.length >> 1], ages, arrivals };
}

describe('frame flow control on simulated links', () => {
  it('keeps the full rate on a long link with room to spare (round trips up to 1.2 s)', () => {
    for (const rttMs of [20, 400, 600, 1200]) {
      const r = simulate({ rttMs, bytesPerMs: 1000 });
      expect(r.fps, `RTT ${rttMs} ms`).toBeGreaterThan(14);
      expect(r.medianAgeMs, `RTT ${rttMs} ms`).toBeLessThan(rttMs / 2 + 200);
    }
  });

  it('sends fewer, recent frames over a slow link (64 KB/s): never a backlog of old ones', () => {
    const r = simulate({ rttMs: 50, bytesPerMs: 64 });
    expect(r.fps).toBeGreaterThan(1);
    expect(r.medianAgeMs).toBeLessThan(1500);
  });

  it('keeps the lag bounded on a link slower than the camera for minutes (its queue never drains)', () => {
    // 20 KB/s against 30 fps of 3 KB: the round trips measured include the window's own queueing, and an
    // uncapped allowance for them let the median age grow to 27 s in 150 s.
    const r = simulate({ rttMs: 50, bytesPerMs: 20, fps: 30, frameBytes: 3000, seconds: 150 });
    const lateAges = r.ages.filter((_, i) => r.arrivals[i] > 120_000).sort((a, b) => a - b);
    expect(lateAges.length).toBeGreaterThan(100);
    expect(lateAges[lateAges.length >> 1]).toBeLessThan(3000);
  });

  it('writes off frames whose acknowledgements never come, instead of freezing the pictures for good', () => {
    // Acknowledgements lost from 10 s on: frames still arrive every few seconds, not never again.
    const r = simulate({ rttMs: 50, bytesPerMs: 1000, seconds: 40, dropAcksAfterMs: 10_000 });
    const late = r.arrivals.filter((t) => t > 20_000);
    expect(late.length).toBeGreaterThan(2);
  });
});
