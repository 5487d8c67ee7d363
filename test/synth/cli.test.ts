import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/xnorcam.js', import.meta.url));
const xnorcam = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
const work = mkdtempSync(path.join(tmpdir(), 'xnorcam-synth-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const sub of ['', 'images', 'labels']) {
    for (const f of readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      if (f.isFile()) out.set(path.join(sub, f.name), readFileSync(path.join(dir, sub, f.name)));
    }
  }
  return out;
}

describe('xnorcam synth dataset', () => {
  it('writes the same bytes for the same seed and different images for another seed', () => {
    const a = path.join(work, 'a');
    const b = path.join(work, 'b');
    const c = path.join(work, 'c');
    for (const [dir, seed] of [
      [a, '5'],
      [b, '5'],
      [c, '6'],
    ]) {
      const r = xnorcam('synth', 'dataset', '--out', dir, '--count', '6', '--seed', seed, '--size', '256x256');
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/6 images/);
    }
    const fa = filesOf(a);
    const fb = filesOf(b);
    const fc = filesOf(c);
    expect([...fa.keys()].sort()).toEqual(['classes.txt', 'dataset.json', ...[0, 1, 2, 3, 4, 5].flatMap((i) => [`images/00000${i}.jpg`, `labels/00000${i}.txt`])].sort());
    for (const [k, v] of fa) expect(v.equals(fb.get(k)!), k).toBe(true);
    for (let i = 0; i < 6; i++) expect(fa.get(`images/00000${i}.jpg`)!.equals(fc.get(`images/00000${i}.jpg`)!)).toBe(false);
    expect(readFileSync(path.join(a, 'classes.txt'), 'utf8')).toBe('car\ntruck\nbus\nmotorcycle\nbicycle\nperson\n');
    // --start extends a dataset: image 3 of a 3..5 run equals image 3 of the full run.
    const d = path.join(work, 'd');
    expect(xnorcam('synth', 'dataset', '--out', d, '--count', '2', '--start', '3', '--seed', '5', '--size', '256x256').status).toBe(0);
    expect(readFileSync(path.join(d, 'images', '000003.jpg')).equals(fa.get('images/000003.jpg')!)).toBe(true);
    // dataset.json describes the folder: extending images 0..1 with 3..4 counts all four images' boxes
    const e = path.join(work, 'e');
    expect(xnorcam('synth', 'dataset', '--out', e, '--count', '2', '--seed', '5', '--size', '256x256').status).toBe(0);
    expect(xnorcam('synth', 'dataset', '--out', e, '--count', '2', '--start', '3', '--seed', '5', '--size', '256x256').status).toBe(0);
    const boxes = (i: number) => fa.get(`labels/00000${i}.txt`)!.toString().split('\n').filter(Boolean).length;
    const manifest = JSON.parse(readFileSync(path.join(e, 'dataset.json'), 'utf8'));
    expect(manifest).toMatchObject({ seed: 5, width: 256, height: 256, images: 4, indices: [[0, 1], [3, 4]], labels: boxes(0) + boxes(1) + boxes(3) + boxes(4) });
    // extending it with another seed would mix two datasets under one manifest
    const other = xnorcam('synth', 'dataset', '--out', e, '--count', '2', '--start', '5', '--seed', '6', '--size', '256x256');
    expect(other.status).toBe(2);
    expect(other.stderr).toBe(`error: --out ${e}: holds a dataset made differently (seed 5 there, 6 now); extend it with the same options or give a new --out folder\n`);
    expect(readdirSync(path.join(e, 'images'))).toHaveLength(4);
  });

  it('writes PNG when asked, with valid YOLO labels', () => {
    const dir = path.join(work, 'png');
    const r = xnorcam('synth', 'dataset', '--out', dir, '--count', '3', '--seed', '9', '--format', 'png', '--width', '320', '--height', '240');
    expect(r.status, r.stderr).toBe(0);
    const png = readFileSync(path.join(dir, 'images', '000000.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(320);
    expect(png.readUInt32BE(20)).toBe(240);
    for (const f of readdirSync(path.join(dir, 'labels'))) {
      for (const line of readFileSync(path.join(dir, 'labels', f), 'utf8').split('\n').filter(Boolean)) {
        expect(line).toMatch(/^[0-5] (0|1|0\.\d{6}|1\.000000) \S+ \S+ \S+$/);
      }
    }
  });
});

describe('xnorcam synth help and errors', () => {
  it('prints help for the command and both subcommands', () => {
    for (const args of [['synth', '--help'], ['synth', 'dataset', '--help'], ['synth', 'video', '--help']]) {
      const r = xnorcam(...args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Usage: xnorcam synth/);
    }
    expect(xnorcam('synth', 'dataset', '--help').stdout).toMatch(/--count N/);
    expect(xnorcam('synth', 'video', '--help').stdout).toMatch(/--seconds T/);
  });

  it.each([
    [['synth', 'frobnicate'], /unknown subcommand 'frobnicate'/],
    [['synth', 'dataset', '--count', '5'], /--out DIR is required/],
    [['synth', 'dataset', '--out', 'x', '--count=-3'], /--count: '-3'/],
    [['synth', 'dataset', '--out', 'x', '--count', '2.5'], /--count: '2.5'/],
    [['synth', 'dataset', '--out', 'x', '--size', '416'], /--size: '416' is not WIDTHxHEIGHT/],
    [['synth', 'dataset', '--out', 'x', '--format', 'gif'], /--format: 'gif'/],
    [['synth', 'dataset', '--out', 'x', '--width', '100', '--size', '200x200'], /--size 200x200 and --width both give the size: give one/],
    [['synth', 'dataset', '--out', 'x', '--quality', '90-20'], /--quality: '90-20'/],
    [['synth', 'dataset', '--out', 'x', '--bogus'], /unknown option '--bogus'/],
    [['synth', 'dataset', '--out', 'package.json'], /--out: 'package.json' exists and is not a folder/],
    [['synth', 'video', '--seconds', '2'], /--out FILE.mp4 is required/],
    [['synth', 'video', '--out', 'x.avi'], /--out: 'x.avi' must end in .mp4/],
    [['synth', 'video', '--out', 'x.mp4', '--size', '321x180'], /must have even width and height/],
    [['synth', 'video', '--out', 'x.mp4', '--seconds', 'abc'], /--seconds: 'abc'/],
    [['synth', 'video', '--out', 'x.mp4', '--conditions', 'snow'], /--conditions: 'snow'/],
  ])('rejects %j with one line', (args, message) => {
    const r = xnorcam(...args);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(message);
  });
});
