/** `xnorcam run` as a service: what its pipeline file turns off stays off, and signals it has no use for do not kill it. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardUrl } from '../helpers/cli.js';
import { bin, testModelArgs } from '../helpers/model.js';
import { tempDir } from '../helpers/videos.js';
import { until } from '../helpers/wait.js';

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

async function start(args: string[], cwd: string): Promise<Started> {
  const child = spawn(process.execPath, [bin, 'run', ...args, '--stats', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XNORCAM_LOG_FORMAT: 'json', XNORCAM_LOG_LEVEL: 'info' } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await until('the dashboard URL', () => dashboardUrl(out) !== undefined || child.exitCode !== null, 30_000);
  const url = dashboardUrl(out);
  if (!url) throw new Error(`xnorcam run did not start: ${out.slice(-500)}`);
  return { child, url, output: () => out, exited };
}

describe('xnorcam run, operated', () => {
  let tmp: ReturnType<typeof tempDir>;
  const running: ChildProcess[] = [];
  beforeAll(() => (tmp = tempDir()));
  afterAll(() => {
    for (const c of running) if (c.exitCode === null) c.kill('SIGKILL');
    tmp.cleanup();
  });

  it('serves /metrics unless the pipeline file says outputs.metrics.enabled: false', async () => {
    const yaml = (metrics: boolean) =>
      ['sources:', '  - name: cam', '    url: lavfi:testsrc2=size=160x120:rate=5', 'outputs:', '  dashboard: { port: 0 }', `  metrics: { enabled: ${metrics} }`, ''].join('\n');
    for (const enabled of [true, false]) {
      const file = join(tmp.dir, `metrics-${enabled}.yaml`);
      writeFileSync(file, yaml(enabled));
      const run = await start([file], tmp.dir);
      running.push(run.child);
      try {
        const r = await fetch(run.url + 'metrics');
        expect(r.status, `metrics enabled: ${enabled}`).toBe(enabled ? 200 : 404);
        if (enabled) expect(await r.text()).toMatch(/^# HELP xnorcam_/m);
      } finally {
        run.child.kill('SIGTERM');
      }
      expect(await run.exited).toBe(0);
    }
  }, 90_000);

  it('counts the lines an output file could not write (a full disk) in /metrics; /healthz stays on the cameras', async () => {
    const out = join(tmp.dir, 'full-out');
    mkdirSync(out);
    // A file that cannot be written (as on a full disk; here a folder in its place).
    mkdirSync(join(out, 'events.jsonl'));
    const file = join(tmp.dir, 'full.yaml');
    writeFileSync(file, ['sources:', '  - name: cam', '    url: lavfi:testsrc2=size=160x120:rate=5', 'outputs:', '  dashboard: { port: 0 }', `  files: { dir: ${out}, counts: false }`, ''].join('\n'));
    const run = await start([file, ...testModelArgs], tmp.dir);
    running.push(run.child);
    try {
      // The source-up event is the first line events.jsonl drops.
      let metrics = '';
      const lost = () => Number(/^xnorcam_output_lines_lost_total\{file="events\.jsonl"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
      for (let i = 0; i < 100 && lost() === 0; i++) {
        metrics = await (await fetch(run.url + 'metrics')).text();
        if (lost() === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(lost()).toBeGreaterThan(0);
      expect(run.output()).toContain('output file cannot be written');
      // A full disk is no reason for a supervisor to restart the container: that would not free space.
      const health = await fetch(run.url + 'healthz');
      expect(health.status).toBe(200);
      // But it says the writing fails, and which file, while it does.
      const body = (await health.json()) as { outputs?: { writing: string; failing?: { file: string; error: string; held: number; lost: number; since: string }[] } };
      expect(body.outputs?.writing).toBe('failing');
      expect(body.outputs?.failing).toEqual([expect.objectContaining({ file: join(out, 'events.jsonl'), held: 0, since: expect.stringMatching(/Z$/) })]);
      expect(body.outputs!.failing![0].lost).toBeGreaterThan(0);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    // The stop says in one line what could not be saved.
    const stopped = run.output().split('\n').filter((l) => l.includes('lines not saved'));
    expect(stopped).toHaveLength(1);
    expect(JSON.parse(stopped[0])).toMatchObject({ level: 'error', msg: expect.stringMatching(/^output files stopped with \d+ lines not saved/), files: { 'events.jsonl': expect.any(Number) } });
  }, 60_000);

  const exposedFile = (dashboard: string) => {
    const file = join(tmp.dir, 'exposed.yaml');
    writeFileSync(file, ['sources:', '  - name: cam', '    url: lavfi:testsrc2=size=160x120:rate=5', 'outputs:', `  dashboard: ${dashboard}`, ''].join('\n'));
    return file;
  };

  it('refuses, before anything starts, a pipeline file whose dashboard listens beyond this machine without a token', () => {
    const file = exposedFile('{ host: 0.0.0.0, port: 0 }');
    const r = spawnSync(process.execPath, [bin, 'run', file, ...testModelArgs, '--duration', '1'], { encoding: 'utf8', env: { ...process.env, XNORCAM_LOG_LEVEL: 'info', XNORCAM_DASHBOARD_TOKEN: '' } });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: dashboard: listening on every address \(0\.0\.0\.0\) without an access token .* set XNORCAM_DASHBOARD_TOKEN .*\(outputs\.dashboard\.allowNoToken: true\)$/)]);
    // The token from the environment (a container's) is one.
    const withEnv = spawnSync(process.execPath, [bin, 'run', file, ...testModelArgs, '--stats', '0', '--duration', '1'], { encoding: 'utf8', env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn', XNORCAM_DASHBOARD_TOKEN: '5f0c2a91e3d47b68' } });
    expect(withEnv.status, withEnv.stderr).toBe(0);
  }, 60_000);

  it('warns at start when the dashboard listens beyond this machine without a token (allowed on purpose), naming the address and the fix', async () => {
    const warning = (output: string) =>
      output
        .split('\n')
        .filter((l) => l.includes('dashboard open to the network without a token'))
        .map((l) => JSON.parse(l) as Record<string, string>);
    for (const [dashboard, warned] of [['{ host: 0.0.0.0, port: 0, allowNoToken: true }', true], ['{ host: 0.0.0.0, port: 0, token: s3cretT0ken }', false], ['{ port: 0 }', false]] as const) {
      const file = exposedFile(dashboard);
      const run = await start([file, ...testModelArgs], tmp.dir);
      running.push(run.child);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      const found = warning(run.output());
      if (!warned) expect(found, dashboard).toEqual([]);
      else expect(found).toMatchObject([{ level: 'warn', on: expect.stringMatching(/^0\.0\.0\.0:\d+$/), fix: expect.stringContaining('outputs.dashboard.token') }]);
    }
  }, 90_000);

  // A read-only file system, mounted in a namespace of the test's own (unshare -rm: no root needed).
  const canMount = spawnSync('unshare', ['-rm', 'true']).status === 0;
  it.skipIf(!canMount)('says a files.dir on a read-only file system cannot be made there, not "no such file or directory"', () => {
    const ro = join(tmp.dir, 'ro');
    mkdirSync(ro);
    const file = join(tmp.dir, 'ro.yaml');
    writeFileSync(file, ['sources:', '  - name: cam', '    url: lavfi:testsrc2=size=160x120:rate=5', 'outputs:', '  dashboard: { enabled: false }', `  files: { dir: ${ro}/new/out }`, ''].join('\n'));
    const r = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o ro tmpfs "$1" && exec "$2" "$3" run "$4" --duration 1`, 'sh', ro, process.execPath, bin, file], {
      encoding: 'utf8',
      env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`error: outputs.files.dir: ${ro}/new/out: ${ro} is not writable (read-only file system): the folder cannot be made in it`]);
  });

  it('refuses --line with a pipeline file in one line, rather than drop it', () => {
    const file = join(tmp.dir, 'lines.yaml');
    writeFileSync(file, 'sources:\n  - name: cam\n    url: lavfi:testsrc2=size=160x120:rate=5\n');
    const r = spawnSync(process.execPath, [bin, 'run', file, '--line', 'extra:0,200,640,200', '--no-dashboard', '--duration', '1'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`error: xnorcam run: --line: not with a pipeline file (${file}): give each source its lines: there (see xnorcam run --help)`);
    // nor a camera beside it: it was read as a video and refused as "not a readable video"
    const both = spawnSync(process.execPath, [bin, 'run', file, 'lavfi:testsrc2', '--no-dashboard', '--duration', '1'], { encoding: 'utf8' });
    expect(both.status).toBe(2);
    expect(both.stderr.trim()).toBe(`error: ${file}: a pipeline file is given alone (its sources: list names the cameras); got 1 more argument beside it`);
  });

  it('logs and ignores SIGHUP when its sources were given on the command line (nothing to reload)', async () => {
    const run = await start(['lavfi:testsrc2=size=160x120:rate=5', ...testModelArgs, '--port', '0'], tmp.dir);
    running.push(run.child);
    run.child.kill('SIGHUP');
    await until('the SIGHUP warning', () => run.output().includes('SIGHUP ignored'), 10_000);
    // Still serving, still detecting.
    const r = await fetch(run.url + 'api/sources');
    expect(r.status).toBe(200);
    expect(run.child.exitCode).toBeNull();
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 60_000);
  it('restarted within an interval, shows that interval as its counts CSV has it: /api/counts takes in the part the run before counted', async () => {
    const hour = 3600_000;
    // The interval must still be in progress when the run has started and is asked.
    if (Date.now() % hour > hour - 60_000) await new Promise((r) => setTimeout(r, hour - (Date.now() % hour) + 100));
    const hourStart = Math.floor(Date.now() / hour) * hour;
    const out = join(tmp.dir, 'resume-out');
    mkdirSync(out);
    const header = 'interval_start,interval_start_ms,line,direction,class,count,covered_s';
    const row = (line: string, dir: string, n: number) => `${new Date(hourStart).toISOString()},${hourStart},${line},${dir},car,${n},40`;
    // The run before was stopped within this hour, with 23 cars counted on its line so far.
    writeFileSync(join(out, 'cam.counts.csv'), [header, row('stopline', 'forward', 0), row('stopline', 'backward', 23), ''].join('\n'));
    const file = join(tmp.dir, 'resume.yaml');
    writeFileSync(
      file,
      ['countIntervalSeconds: 3600', 'sources:', '  - name: cam', '    url: lavfi:testsrc2=size=160x120:rate=5', '    lines: [{ name: stopline, points: [[0, 60], [160, 60]] }]',
        'outputs:', '  dashboard: { port: 0 }', `  files: { dir: ${out}, counts: true }`, ''].join('\n'),
    );
    const t0 = Date.now();
    const run = await start([file], tmp.dir);
    running.push(run.child);
    let api: { total: Record<string, { backward: Record<string, number> }>; intervals: { start: number; counts: Record<string, { backward: Record<string, number> }> }[]; since?: number } | undefined;
    try {
      // Asked at once: the page must not show this run's part alone until the first write.
      api = (await (await fetch(run.url + 'api/counts?source=cam')).json()) as typeof api;
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    const current = api!.intervals.find((iv) => iv.start === hourStart);
    expect(current?.counts.stopline.backward.car, JSON.stringify(api)).toBeGreaterThanOrEqual(23);
    // The total stays this run's, and says since when it counts.
    expect(api!.total.stopline?.backward.car ?? 0).toBeLessThan(23);
    expect(api!.since).toBeGreaterThanOrEqual(t0 - 1000);
    const rows = readFileSync(join(out, 'cam.counts.csv'), 'utf8').trim().split('\n');
    // One block for the hour, whole: what the page showed, plus anything counted after it was asked.
    expect(rows.filter((r) => r.includes(',stopline,backward,car,'))).toHaveLength(1);
    expect(Number(rows.find((r) => r.includes(',stopline,backward,car,'))!.split(',')[5])).toBeGreaterThanOrEqual(current!.counts.stopline.backward.car);
  }, 60_000);
});
