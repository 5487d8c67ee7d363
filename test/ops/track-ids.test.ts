/** A live run's track ids go on across restarts: a consumer joining events by (source, trackId) never merges two vehicles. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrackIdFile } from '../../src/ops/track-ids.js';
import { bin } from '../helpers/model.js';
import { tempDir } from '../helpers/videos.js';
import { until } from '../helpers/wait.js';

const env = { ...process.env, XNORCAM_LOG_LEVEL: 'warn' };

describe('live track ids', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => (tmp = tempDir()));
  afterAll(() => tmp.cleanup());

  it('go on from the run before, after a clean stop and after a kill; a file in batch still numbers from 1', async () => {
    // Generated traffic with the bundled model: real vehicles, real crossings of the generator's counting line.
    const video = join(tmp.dir, 'road.mp4');
    const synth = spawnSync(process.execPath, [bin, 'synth', 'video', '--out', video, '--seconds', '4', '--seed', '3', '--size', '640x360'], { env, encoding: 'utf8' });
    expect(synth.status, synth.stderr).toBe(0);
    const line = (JSON.parse(readFileSync(join(tmp.dir, 'road.truth.json'), 'utf8')) as { line: { points: number[][] } }).line.points;
    const out = join(tmp.dir, 'out');
    const file = join(tmp.dir, 'road.yaml');
    writeFileSync(
      file,
      ['sources:', '  - name: road', `    url: ${video}`, `    lines: [{ name: count, points: ${JSON.stringify(line)} }]`, 'outputs:', '  dashboard: { enabled: false }', `  files: { dir: ${out}, detections: true }`, ''].join('\n'),
    );
    const detections = join(out, 'road.detections.jsonl');
    const lines = () => (existsSync(detections) ? readFileSync(detections, 'utf8').split('\n').filter(Boolean) : []);
    const idsOf = (from: number) => {
      const ids = new Set<number>();
      for (const l of lines().slice(from)) for (const t of (JSON.parse(l) as { tracks: { id: number }[] }).tracks) ids.add(t.id);
      return [...ids].sort((a, b) => a - b);
    };
    const events = () => readFileSync(join(out, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; trackId?: number });

    // Run 1 is killed (no clean stop) once it has tracks; runs 2 and 3 play the file to its end.
    const killed = spawn(process.execPath, [bin, 'run', file, '--stats', '0'], { env, stdio: 'ignore' });
    await until('tracks of the first run', () => idsOf(0).length >= 3, 60_000);
    killed.kill('SIGKILL');
    await new Promise((r) => killed.once('exit', r));
    const runs: number[][] = [idsOf(0)];
    for (let k = 0; k < 2; k++) {
      const from = lines().length;
      const r = spawnSync(process.execPath, [bin, 'run', file, '--stats', '0'], { env, encoding: 'utf8', timeout: 90_000 });
      expect(r.status, r.stderr).toBe(0);
      runs.push(idsOf(from));
    }
    for (const ids of runs) expect(ids.length).toBeGreaterThan(0);
    // Each run's ids are above every id of the runs before; after a clean stop they go on without a gap.
    expect(runs[1][0]).toBeGreaterThan(runs[0].at(-1)!);
    expect(runs[2][0]).toBe(runs[1].at(-1)! + 1);
    // Each run's events (from its source-up on) name only that run's tracks.
    let run = -1;
    let named = 0;
    for (const e of events()) {
      if (e.type === 'source-up') run++;
      else if (e.trackId !== undefined) {
        named++;
        expect(runs[run], `${e.type} of track ${e.trackId} in run ${run + 1}`).toContain(e.trackId);
      }
    }
    expect(run).toBe(2);
    expect(named).toBeGreaterThan(0);

    // A file in batch: MOT-style ids from 1, whatever a live run in another folder did.
    const batchOut = join(tmp.dir, 'batch');
    const b = spawnSync(process.execPath, [bin, 'batch', video, '-o', batchOut], { env, encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    const first = Math.min(...readFileSync(join(batchOut, 'road.tracks.txt'), 'utf8').split('\n').filter(Boolean).map((l) => Number(l.split(',')[1])));
    expect(first).toBeLessThan(runs[1][0]);
  }, 300_000);

  it("give a source named like an object's own fields (constructor, toString) numbers, and keep the others' across a restart", () => {
    const dir = join(tmp.dir, 'names');
    mkdirSync(dir);
    const first = new TrackIdFile(dir);
    expect([first.next('constructor'), first.next('constructor'), first.next('toString'), first.next('cam1')]).toEqual([1, 2, 1, 1]);
    first.close();
    expect(JSON.parse(readFileSync(join(dir, 'track-ids.json'), 'utf8'))).toEqual({ constructor: 3, toString: 2, cam1: 2 });
    const again = new TrackIdFile(dir);
    expect([again.next('cam1'), again.next('constructor'), again.next('valueOf')]).toEqual([2, 3, 1]);
  });
});
