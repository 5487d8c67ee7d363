import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { makeVideo } from '../helpers/videos.js';
import { spawnAsync } from '../helpers/cli.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const bin = fileURLToPath(new URL('../../bin/xnorcam.js', import.meta.url));
const xnorcam = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
/** As xnorcam(), not blocking: independent runs go side by side (each is mostly node starting up). */
const xnorcamAsync = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnAsync(process.execPath, [bin, ...args], { env });

describe('xnorcam CLI', () => {
  it('lists its commands with --help', () => {
    const r = xnorcam('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: xnorcam <command>/);
  });

  it('runs as README tells a first-time user: `npx xnorcam …` from the clone (npm ci puts no xnorcam on PATH), from a folder in it too', async () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const quickStart = /```sh\n([\s\S]*?)```/.exec(readme)![1];
    expect(quickStart).toMatch(/^npx xnorcam --help/m);
    // --no-install: were the clone's own not found, npx would ask the registry, which is not what is tested.
    const [npx, direct] = await Promise.all([spawnAsync('npx', ['--no-install', 'xnorcam', '--help'], { cwd: fileURLToPath(new URL('../../docs', import.meta.url)) }), xnorcamAsync(['--help'])]);
    expect(npx.status, npx.stderr).toBe(0);
    expect(npx.stdout).toBe(direct.stdout);
  });

  it('rejects an unknown command with one line and exit code 2', async () => {
    const [r, slip] = await Promise.all([xnorcamAsync(['frobnicate']), xnorcamAsync(['rnu'])]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown command 'frobnicate' \(see/);
    // a slip of the fingers gets the command meant
    expect(slip.stderr).toBe("error: xnorcam: unknown command 'rnu'; did you mean 'run'? (see xnorcam --help)\n");
  });

  it('where the log format is JSON (the Docker image), says why it failed in one JSON log record, not a text line', async () => {
    const json = (...args: string[]) => xnorcamAsync(args, { ...process.env, XNORCAM_LOG_FORMAT: 'json' });
    const records = (stderr: string) => stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const missing = path.join(tmpdir(), 'xnorcam-no-such-clip.mp4');
    const dir = mkdtempSync(path.join(tmpdir(), 'xnorcam-json-'));
    try {
      const clip = makeVideo(path.join(dir, 'cut.ts'), { width: 160, height: 120, fps: 10, seconds: 3 });
      truncateSync(clip, Math.floor(statSync(clip).size / 2));
      const notImage = path.join(dir, 'not.png');
      writeFileSync(notImage, 'no picture');
      // Four independent failures, side by side.
      const [unknown, run, batch, detect] = await Promise.all([json('rnu'), json('run', missing, '--no-dashboard'), json('batch', clip, '-o', path.join(dir, 'out'), '--stride', '5'), json('detect', notImage)]);
      expect(unknown.status).toBe(2);
      expect(records(unknown.stderr)).toEqual([{ time: expect.any(String), level: 'error', msg: "xnorcam: unknown command 'rnu'; did you mean 'run'? (see xnorcam --help)" }]);
      expect(run.status).toBe(1);
      expect(records(run.stderr)).toEqual([{ time: expect.any(String), level: 'error', msg: `${missing}: no such file` }]);
      // The error lines of commands that go on past a bad input (batch's damaged recording, detect's bad image) too.
      expect(batch.status).toBe(1);
      const errors = records(batch.stderr.split('\n').filter((l) => l.startsWith('{')).join('\n')).filter((r) => r.level === 'error');
      expect(errors).toEqual([expect.objectContaining({ msg: expect.stringContaining(`${clip}: `) })]);
      expect(batch.stderr.split('\n').some((l) => l.startsWith('error:'))).toBe(false);
      expect(detect.status).toBe(1);
      expect(records(detect.stderr).map((r) => r.level)).toEqual(['error']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads XNORCAM_LOG_LEVEL in any case, and says once which values there are when it is none of them', async () => {
    const withLevel = (level: string) =>
      xnorcamAsync(['run', 'lavfi:testsrc2=size=160x120:rate=5', '--no-dashboard', '--duration', '1', '--workers', '2'], { ...process.env, XNORCAM_LOG_LEVEL: level, XNORCAM_LOG_FORMAT: 'json' });
    const messages = (stderr: string) => stderr.trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg).filter((m) => m !== 'source status');
    // Three runs side by side, each waiting out its --duration.
    const [upper, unknown, inherited] = await Promise.all([withLevel('WARN'), withLevel('verbose'), withLevel('constructor')]);
    expect(upper.status, upper.stderr).toBe(0);
    expect(messages(upper.stderr)).toEqual([]); // info lines ('starting', 'pipeline started') filtered out
    expect(unknown.status, unknown.stderr).toBe(0);
    const said = messages(unknown.stderr);
    expect(said.filter((m) => m.startsWith('XNORCAM_LOG_LEVEL'))).toEqual(["XNORCAM_LOG_LEVEL: 'verbose' is not a log level (debug, info, warn, error); using info"]);
    expect(said).toContain('starting');
    // A name every object has is no level either.
    expect(messages(inherited.stderr).filter((m) => m.startsWith('XNORCAM_LOG_LEVEL'))).toEqual(["XNORCAM_LOG_LEVEL: 'constructor' is not a log level (debug, info, warn, error); using info"]);
  }, 60_000);

  it('shows a command\'s help for `xnorcam help <command>`', async () => {
    const [r, help] = await Promise.all([xnorcamAsync(['help', 'track']), xnorcamAsync(['track', '--help'])]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(help.stdout);
    expect(r.stdout).toMatch(/^xnorcam track — /);
  });

  it('names the command and its help when an option\'s value is refused', () => {
    const r = xnorcam('track', 'det.txt', '--fps', 'abc');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("error: xnorcam track: --fps: 'abc' is not a number above 0 (see xnorcam track --help)\n");
  });

  it('stops quietly when the reader of its output goes away (| head), without a stack trace', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'xnorcam-epipe-'));
    try {
      const image = path.join(dir, 'noise.png');
      const raw = Buffer.alloc(64 * 48 * 3, 0).map((_, i) => (i * 2654435761) >>> 24);
      await sharp(raw, { raw: { width: 64, height: 48, channels: 3 } }).png().toFile(image);
      // `true` exits without reading: detect's first write, after loading the model, finds the pipe closed
      // and `head -1`, side by side: the reader took what it wanted, not an interrupted run (130) for a `set -o pipefail` script
      const [r, piped] = await Promise.all([
        spawnAsync('sh', ['-c', `"${process.execPath}" "${bin}" detect "${image}" "${image}" "${image}" --json | true`]),
        spawnAsync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${bin}" detect "${image}" "${image}" "${image}" | head -1 >/dev/null`]),
      ]);
      expect(r.stderr).toBe('');
      expect(piped.stderr).toBe('');
      expect(piped.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
