import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Spawns bin/xnorcam.js, which runs dist/: build first (npx tsc -p tsconfig.json).
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(repoRoot, 'bin', 'xnorcam.js');
const motDir = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'mot');
const xnorcam = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe.skipIf(!existsSync(motDir))('xnorcam track and mot-eval', () => {
  it('tracks a detection file and scores it; mot-eval reproduces the published SORT metrics', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'xnorcam-track-'));
    try {
      const out = path.join(dir, 'tracks.txt');
      const seq = path.join(motDir, 'KITTI-17');
      const r = xnorcam('track', path.join(seq, 'det.txt'), '--fps', '10', '-o', out);
      expect(r.status, r.stderr).toBe(0);
      const rows = readFileSync(out, 'utf8').trim().split('\n');
      expect(rows.length).toBeGreaterThan(400);
      for (const line of rows.slice(0, 20)) expect(line).toMatch(/^\d+,\d+,-?[\d.]+,-?[\d.]+,[\d.]+,[\d.]+,[\d.]+,-1,-1,-1$/);

      const ours = JSON.parse(xnorcam('mot-eval', path.join(seq, 'gt.txt'), out).stdout) as Record<string, number>;
      const sort = JSON.parse(xnorcam('mot-eval', path.join(seq, 'gt.txt'), path.join(seq, 'sort_ref.txt')).stdout) as Record<string, number>;
      const expected = JSON.parse(readFileSync(path.join(motDir, 'expected_metrics.json'), 'utf8'))['KITTI-17']['sort_ref.txt'] as Record<string, number>;
      for (const [k, v] of Object.entries(expected)) expect(sort[k]).toBeCloseTo(v, 9);
      expect(Object.keys(ours).slice(0, 2)).toEqual(['mota', 'idf1']);
      expect(ours.mota).toBeGreaterThan(sort.mota);
      expect(ours.idf1).toBeGreaterThan(sort.idf1);

      // Same tracks on stdout without -o.
      const stdout = xnorcam('track', path.join(seq, 'det.txt'), '--fps', '10');
      expect(stdout.stdout).toBe(readFileSync(out, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('xnorcam track and mot-eval input errors', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'xnorcam-track-bad-'));
  /** A file of the test's folder with this text. */
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const bad = file('bad.txt', '1,-1,10,10,20,20,0.9\n2,-1,ten,10,20,20,0.9\n');
  const gt = file('gt.txt', '1,1,10,10,20,20,1,-1,-1,-1\n1,2,50,10,20,20,1,-1,-1,-1\n');
  const dets = file('det.txt', '1,-1,10,10,20,20,0.9\n1,-1,50,10,20,20,0.8\n');
  const twice = file('twice.txt', '# tracks\n1,1,10,10,20,20,0.9\n1,1,50,10,20,20,0.8\n');
  const fractional = file('fractional.txt', '1,2.5,10,10,20,20,0.9\n');
  const empty = file('empty-fields.txt', '1,1,10,10,20,20,1,-1,-1,-1\n2,1,,,,,,-1,-1,-1\n');
  const trailing = file('trailing.txt', '1,-1,10,10,20,20,0.9,\n2,-1,12,10,20,20,0.9,\n');
  const hex = file('hex.txt', '1,-1,0x10,10,20,20,0.9\n');
  const scored = file('scored.txt', '1,1,10,10,20,20,0.93,-1,-1,-1\n1,2,50,10,20,20,0.71,-1,-1,-1\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string[], RegExp][] = [
    [['track', bad], /^error: xnorcam track: --fps is required/],
    [['track', bad, '--fps', 'fast'], /^error: xnorcam track: --fps: 'fast' is not a number above 0 \(see xnorcam track --help\)$/],
    [['track', bad, '--fps', '10'], /^error: .*bad\.txt:2: field 3 \('ten'\) is not a number$/],
    [['track', path.join(dir, 'missing.txt'), '--fps', '10'], /^error: .*missing\.txt: no such file$/],
    // An empty field was read as 0: a box at (0, 0) scored as a false positive.
    [['mot-eval', gt, empty], /^error: .*empty-fields\.txt:2: field 3 \(''\) is not a number$/],
    [['track', hex, '--fps', '10'], /^error: .*hex\.txt:1: field 3 \('0x10'\) is not a number$/],
    // -o naming the input would replace the detections with the tracks.
    [['track', dets, '--fps', '10', '-o', dets], /^error: -o .*det\.txt: is the input file .*det\.txt; writing it would destroy it$/],
    // Said 'no such file', as if the tracks file were expected to exist.
    [['track', dets, '--fps', '10', '-o', path.join(dir, 'nodir', 't.txt')], /^error: .*nodir\/t\.txt: the folder .*nodir does not exist$/],
    [['mot-eval', bad], /^error: xnorcam mot-eval: missing argument/],
    [['track', bad, '--fps', '10', '--bogus'], /^error: xnorcam track: unknown option '--bogus'/],
    [['track', bad, '--fps', '10', '--high', '0.2', '--low', '0.5'], /^error: --low 0\.5 is above --high 0\.2: low-score boxes are those below --high$/],
    [['track', bad, '--fps', '10', '--high', '0.05'], /^error: --low 0\.1 \(the default\) is above --high 0\.05: low-score boxes are those below --high$/],
    [['mot-eval', gt, dets], /^error: .*det\.txt:1: track id -1 is not a non-negative integer \(id -1: a detection file, not tracks\?\)$/],
    [['mot-eval', gt, twice], /^error: .*twice\.txt:3: track id 1 appears twice in frame 1 \(also line 2\)$/],
    [['mot-eval', gt, fractional], /^error: .*fractional\.txt:1: track id 2\.5 is not a non-negative integer$/],
    [['mot-eval', scored, gt], /^error: .*scored\.txt: no ground-truth row has column 7 \(MOTChallenge's "consider" flag\) at 1: a tracker's output rather than ground truth\?$/],
  ];
  it('reads rows that end in a separator ("…,0.9,"), as it did before empty fields were refused', () => {
    const r = xnorcam('track', trailing, '--fps', '10');
    expect(r.status, r.stderr).toBe(0);
  });

  for (const [args, msg] of cases) {
    it(`${args.join(' ').replace(dir, '<tmp>')} → one-line error`, () => {
      const r = xnorcam(...args);
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(msg);
    });
  }
});
