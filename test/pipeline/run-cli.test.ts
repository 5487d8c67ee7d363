import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultModelPath } from '../../src/detect/default-model.js';
import { tempDir } from '../helpers/videos.js';
import { dashboardUrl, spawnAsync } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { bin, repoRoot, shared, testModelArgs } from '../helpers/model.js';

const xnorcam = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 50_000, env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn' } });
/** As xnorcam(), not blocking: runs that wait out a --duration, or refusals that need only their start, go side by side. */
const xnorcamAsync = (args: string[], env: NodeJS.ProcessEnv = { ...process.env, XNORCAM_LOG_LEVEL: 'warn' }) => spawnAsync(process.execPath, [bin, ...args], { timeout: 50_000, env });

describe('xnorcam run / demo', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp.cleanup());

  /** One rendered road (6 s, cars crossing its line) for the tests that play a file: rendered once, on first use. */
  let road: { video: string; truth: { line: { points: number[][] }; calibration: { image: number[][]; world: number[][] } } } | undefined;
  const roadVideo = () => {
    if (road) return road;
    const video = join(tmp.dir, 'road.mp4');
    const made = xnorcam(['synth', 'video', '--out', video, '--seconds', '6', '--seed', '1', '--size', '640x360']);
    expect(made.status, made.stderr).toBe(0);
    road = { video, truth: JSON.parse(readFileSync(join(tmp.dir, 'road.truth.json'), 'utf8')) as NonNullable<typeof road>['truth'] };
    return road;
  };

  it('runs a live test source, prints results as JSON lines and per-source stats, stops after --duration', () => {
    const r = xnorcam(['run', 'lavfi:testsrc2=size=320x240:rate=10', ...testModelArgs, '--no-dashboard', '--json', '--duration', '4', '--stats', '1']);
    expect(r.status).toBe(0);
    // With --json, stdout is only JSON lines; the stats go to stderr.
    const out = r.stdout.trim().split('\n');
    expect(out.filter((l) => !l.startsWith('{'))).toEqual([]);
    const lines = out.map((l) => JSON.parse(l));
    // Frame results, and events not tied to a frame ({"source","events"}): the source coming up, told as it happened.
    const results = lines.filter((l) => 'frame' in l);
    expect(lines.filter((l) => !('frame' in l))).toEqual([{ source: 'testsrc2', events: [{ type: 'source-up', source: 'testsrc2', at: expect.any(Number) }] }]);
    // Several frames' results streamed out (how many of the 40 frames a loaded machine detects in 4 s is its speed:
    // 14 under load, where more than 15 were asked for).
    expect(results.length).toBeGreaterThan(3);
    expect(results[0].frame).toMatchObject({ source: 'testsrc2', width: 320, height: 240 });
    expect(results.map((x) => x.frame.seq)).toEqual([...results.map((x) => x.frame.seq)].sort((a, b) => a - b));
    // The log is JSON here (stderr is no terminal), so the stats are log records too, whatever the log level.
    const err = r.stderr.trim().split('\n');
    expect(err.filter((l) => !l.startsWith('{'))).toEqual([]);
    const status = err.map((l) => JSON.parse(l)).filter((l) => l.msg === 'source status');
    expect(status.find((l) => l.state === 'running')).toMatchObject({ level: 'info', source: 'testsrc2', decodedFps: expect.any(Number), detectedFps: expect.any(Number), latencyMs: expect.any(Number), dropped: expect.any(Number), reconnects: 0 });
    expect(status.at(-1)).toMatchObject({ source: 'testsrc2', state: 'stopped' });
  });

  it('with --token, prints a dashboard URL that opens the page (303 + cookie); with --json it is a record on stderr with the log', async () => {
    const token = 's3cret&Token/+=';
    const child = spawn(process.execPath, [bin, 'run', 'lavfi:testsrc2=size=160x120:rate=5', ...testModelArgs, '--json', '--token', token, '--port', '0', '--stats', '1', '--duration', '8'], {
      env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const t0 = Date.now();
      const dashboardRecord = () => err.split('\n').find((l) => l.startsWith('{"') && l.includes('"msg":"dashboard"'));
      while (!dashboardRecord()) {
        if (Date.now() - t0 > 30_000 || child.exitCode !== null) throw new Error(`no dashboard record; stderr: ${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // The record goes to log collectors: the address without the token.
      const record = JSON.parse(dashboardRecord()!) as { url: string; token?: string };
      expect(record.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(record.token).toMatch(/^required/);
      expect(err).not.toContain(encodeURIComponent(token));
      const url = `${record.url}?token=${encodeURIComponent(token)}`;
      const page = await fetch(url, { redirect: 'manual' });
      expect(page.status).toBe(303);
      const cookie = page.headers.get('set-cookie')!;
      expect(cookie).toContain(`xnorcam_token=${encodeURIComponent(token)}`);
      expect((await fetch(new URL('/api/sources', url), { headers: { cookie: cookie.split(';')[0] } })).status).toBe(200);
      // Stopped once a stats record is out (SIGTERM, exit 0), rather than at the end of --duration.
      await until('a running stats record', () => /"msg":"source status","source":"testsrc2","state":"running"/.test(err) || child.exitCode !== null, 30_000);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    expect(out.trim().split('\n').filter((l) => !l.startsWith('{'))).toEqual([]);
    // Stderr is all JSON records too: the log, the status lines and the dashboard's address.
    expect(err.trim().split('\n').filter((l) => !l.startsWith('{'))).toEqual([]);
    expect(err).toMatch(/"msg":"source status","source":"testsrc2","state":"running","decodedFps"/);
  }, 60_000);

  it('writes the dashboard token only to a terminal, never where a log collects it (Docker, a service, a pipe)', async () => {
    const token = 'DashT0kenSecret';
    const yaml = join(tmp.dir, 'token.yaml');
    writeFileSync(yaml, ['sources:', '  - name: gate', '    url: "lavfi:testsrc2=size=160x120:rate=5"', 'outputs:', `  dashboard: { port: 0, token: ${token} }`, ''].join('\n'));
    const args = [bin, 'run', yaml, ...testModelArgs, '--duration', '2', '--stats', '1'];
    const env = (format: string) => ({ ...process.env, XNORCAM_LOG_LEVEL: 'info', XNORCAM_LOG_FORMAT: format });
    // The Docker image's JSON log: every line a record, the address without its token.
    const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
    // The three runs wait out their --duration side by side.
    const [json, text, tty] = await Promise.all([
      spawnAsync(process.execPath, args, { timeout: 50_000, env: env('json') }),
      spawnAsync(process.execPath, args, { timeout: 50_000, env: env('text') }),
      spawnAsync('script', ['-qec', [process.execPath, ...args].map(quote).join(' '), '/dev/null'], { timeout: 50_000, env: env('text') }),
    ]);
    expect(json.status, json.stderr).toBe(0);
    expect(json.stdout + json.stderr).not.toContain(token);
    expect(JSON.parse(json.stderr.split('\n').find((l) => l.includes('"msg":"dashboard"'))!)).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/), token: expect.stringMatching(/^required/) });
    // A text log into a pipe (a service manager's journal): the line, without the token.
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout + text.stderr).not.toContain(token);
    expect(text.stdout).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(token required/m);
    // On a terminal (script(1) gives it one) the URL to click, with the token.
    expect(tty.status, tty.stdout).toBe(0);
    expect(tty.stdout).toMatch(new RegExp(`^dashboard: http://127\\.0\\.0\\.1:\\d+/\\?token=${token}\\r?$`, 'm'));
  }, 90_000);

  it('off a terminal (Docker, a service) logs no per-source stats in steady state unless --stats asks, only each source\'s last as it stops', async () => {
    const statuses = (stderr: string) => stderr.split('\n').filter((l) => l.includes('"msg":"source status"')).map((l) => JSON.parse(l) as { state: string });
    // Side by side: each waits out its --duration (the quiet one's past a terminal's 5 s default).
    const [quiet, asked] = await Promise.all([
      xnorcamAsync(['run', 'lavfi:testsrc2=size=160x120:rate=5', ...testModelArgs, '--no-dashboard', '--duration', '7']),
      xnorcamAsync(['run', 'lavfi:testsrc2=size=160x120:rate=5', ...testModelArgs, '--no-dashboard', '--duration', '7', '--stats', '5']),
    ]);
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(statuses(quiet.stderr)).toMatchObject([{ state: 'stopped' }]);
    expect(asked.status, asked.stderr).toBe(0);
    expect(statuses(asked.stderr).map((s) => s.state)).toEqual(['running', 'stopped']);
  }, 60_000);

  it('refuses a --token that is short, a pattern or white space in one line that says how to make one, as the pipeline file does', async () => {
    const make = `make one with: openssl rand -hex 16 (or node -p "crypto.randomBytes(16).toString('hex')")`;
    const cases = [
      ['short', `too short: 5 characters, at least 8 needed (16 or more advised); ${make}`],
      ['', `too short: 0 characters, at least 8 needed (16 or more advised); ${make}`],
      ['        ', `is only white space; ${make}`],
      ['aaaaaaaa', `too easy to guess: only 1 different character; ${make}`],
    ];
    const runs = await Promise.all(cases.map(([token]) => xnorcamAsync(['run', 'lavfi:testsrc2', ...testModelArgs, '--token', token, '--port', '0', '--duration', '1'])));
    for (const [i, [token, problem]] of cases.entries()) {
      const r = runs[i];
      expect(r.status, token).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([`error: xnorcam run: --token: ${problem} (see xnorcam run --help)`]);
    }
  });

  it('refuses a token with a space or line end at either end, which Authorization: Bearer cannot carry, naming the flag, variable or file key', async () => {
    const padded = ' 5f0c2a91e3d47b68';
    const yaml = join(tmp.dir, 'padded-token.yaml');
    writeFileSync(yaml, ['sources:', '  - name: gate', '    url: "lavfi:testsrc2=size=160x120:rate=5"', 'outputs:', `  dashboard: { port: 0, token: "${padded}" }`, ''].join('\n'));
    const [flag, env, file] = await Promise.all([
      xnorcamAsync(['run', 'lavfi:testsrc2', ...testModelArgs, '--token', padded, '--port', '0', '--duration', '1']),
      // An env file's Windows line end comes with the value.
      xnorcamAsync(['run', 'lavfi:testsrc2', ...testModelArgs, '--port', '0', '--duration', '1'], { ...process.env, XNORCAM_LOG_LEVEL: 'warn', XNORCAM_DASHBOARD_TOKEN: '5f0c2a91e3d47b68\r' }),
      xnorcamAsync(['run', yaml, ...testModelArgs, '--duration', '1']),
    ]);
    expect(flag.status).toBe(2);
    expect(flag.stderr.trim()).toMatch(/^error: xnorcam run: --token: starts with a space, which Authorization: Bearer cannot carry: use letters, digits and punctuation only; make one with: openssl rand -hex 16/);
    expect(env.status).toBe(2);
    expect(env.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: XNORCAM_DASHBOARD_TOKEN: ends with a carriage return \(a Windows line end\?\): use letters/)]);
    expect(file.status).toBe(1);
    expect(file.stderr.trim().split('\n')).toHaveLength(1);
    expect(file.stderr, file.stderr).toContain(`error: ${yaml}:5: outputs.dashboard.token: starts with a space, which Authorization: Bearer cannot carry`);
  });

  it('warns at start of a token shorter than 16 characters, naming where it came from, and runs', async () => {
    const [r, long] = await Promise.all([
      xnorcamAsync(['run', 'lavfi:testsrc2=size=160x120:rate=5', ...testModelArgs, '--token', 'Gq7-x2Lp', '--port', '0', '--stats', '0', '--duration', '1']),
      xnorcamAsync(['run', 'lavfi:testsrc2=size=160x120:rate=5', ...testModelArgs, '--token', '5f0c2a91e3d47b68', '--port', '0', '--stats', '0', '--duration', '1']),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const warned = r.stderr.split('\n').filter((l) => l.includes('easier to guess')).map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(warned).toMatchObject([{ level: 'warn', msg: expect.stringMatching(/^--token: a token of 8 characters is easier to guess than one of 16 or more; make one with: openssl rand -hex 16/) }]);
    expect(r.stderr).not.toContain('Gq7-x2Lp');
    expect(long.status, long.stderr).toBe(0);
    expect(long.stderr).not.toContain('easier to guess');
  }, 60_000);

  it('refuses a dashboard on every address without a token before anything starts, saying how to set one; --allow-no-token runs it', async () => {
    const [open, allowed, guarded] = await Promise.all([
      xnorcamAsync(['run', 'lavfi:testsrc2=size=160x120:rate=5', ...testModelArgs, '--host', '0.0.0.0', '--port', '0', '--duration', '1']),
      xnorcamAsync(['run', 'lavfi:testsrc2=size=160x120:rate=5', ...testModelArgs, '--host', '0.0.0.0', '--port', '0', '--allow-no-token', '--stats', '0', '--duration', '1']),
      xnorcamAsync(['run', 'lavfi:testsrc2=size=160x120:rate=5', ...testModelArgs, '--host', '0.0.0.0', '--port', '0', '--token', '5f0c2a91e3d47b68', '--stats', '0', '--duration', '1']),
    ]);
    expect(open.status).toBe(2);
    expect(open.stderr.trim().split('\n')).toEqual([
      'error: dashboard: listening on every address (0.0.0.0) without an access token would show the cameras to anyone who reaches its port: set XNORCAM_DASHBOARD_TOKEN (e.g. XNORCAM_DASHBOARD_TOKEN=$(openssl rand -hex 16)), --token or outputs.dashboard.token; or, to run it open on purpose, --allow-no-token (outputs.dashboard.allowNoToken: true)',
    ]);
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain('dashboard open to the network without a token');
    expect(guarded.status, guarded.stderr).toBe(0);
  }, 60_000);

  it('takes the token from XNORCAM_DASHBOARD_TOKEN (a container\'s environment) over the pipeline file\'s, --token over both', async () => {
    const yaml = join(tmp.dir, 'env-token.yaml');
    writeFileSync(yaml, ['sources:', '  - name: gate', '    url: "lavfi:testsrc2=size=160x120:rate=5"', 'outputs:', '  dashboard: { port: 0, token: FileToken123 }', ''].join('\n'));
    const env = { ...process.env, XNORCAM_LOG_LEVEL: 'warn', XNORCAM_DASHBOARD_TOKEN: 'EnvToken456' };
    const child = spawn(process.execPath, [bin, 'run', yaml, ...testModelArgs, '--stats', '0', '--duration', '8'], { env });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await until('the dashboard record', () => dashboardUrl(err) !== undefined || child.exitCode !== null, 30_000);
      const api = new URL('/api/sources', dashboardUrl(err));
      const status = async (token: string) => (await fetch(api, { headers: { authorization: `Bearer ${token}` } })).status;
      expect(await status('EnvToken456')).toBe(200);
      expect(await status('FileToken123')).toBe(401);
    } finally {
      // Stopped once asked (SIGTERM, exit 0), rather than at the end of --duration.
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    expect(err).not.toContain('EnvToken456');
    // A short one is refused naming the variable; --token, given as well, wins over it.
    const [short, flag] = await Promise.all([
      xnorcamAsync(['run', yaml, ...testModelArgs, '--duration', '1'], { ...env, XNORCAM_DASHBOARD_TOKEN: 'abc' }),
      xnorcamAsync(['run', yaml, ...testModelArgs, '--token', 'FlagToken789', '--stats', '0', '--duration', '1'], { ...env, XNORCAM_DASHBOARD_TOKEN: 'abc' }),
    ]);
    expect(short.status).toBe(2);
    expect(short.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: XNORCAM_DASHBOARD_TOKEN: too short: 3 characters, at least 8 needed/)]);
    expect(flag.status, flag.stderr).toBe(0);
  }, 60_000);

  it('goes on when its terminal goes away (an SSH session dropped): the interval in progress is written and the lock let go at its end', async () => {
    const dir = join(tmp.dir, 'hangup');
    const yaml = join(tmp.dir, 'hangup.yaml');
    writeFileSync(yaml, ['sources:', '  - name: cam', '    url: "lavfi:testsrc2=size=160x120:rate=5"', '    lines: [{ name: l, points: [[0, 60], [160, 60]] }]', 'outputs:', '  dashboard: { enabled: false }', `  files: { dir: ${dir}, events: true, counts: true }`, ''].join('\n'));
    const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
    // script(1) gives it a terminal; killing script takes the terminal away (writes to it fail with EIO).
    const term = spawn('script', ['-qfc', [process.execPath, bin, 'run', yaml, ...testModelArgs, '--stats', '1', '--duration', '10'].map(quote).join(' '), '/dev/null'], { stdio: 'ignore' });
    await until('the run started', () => existsSync(join(dir, 'events.jsonl')), 30_000);
    term.kill('SIGKILL');
    await until('the run ended on its own', () => existsSync(join(dir, 'cam.counts.csv')) && !existsSync(join(dir, '.xnorcam.lock')), 40_000);
    expect(readFileSync(join(dir, 'cam.counts.csv'), 'utf8').split('\n').length).toBeGreaterThan(2);
  }, 60_000);

  it('refuses an --allowed-host that is not a host name in one line', () => {
    const r = xnorcam(['run', 'lavfi:testsrc2', ...testModelArgs, '--allowed-host', 'https://cams.example.org', '--port', '0', '--duration', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      "error: xnorcam run: --allowed-host: 'https://cams.example.org' is not a host name (give a name like cams.example.org, or .example.org for every name under it) (see xnorcam run --help)",
    ]);
  });

  it('runs a pipeline file (sources, lines, dashboard on a free port)', () => {
    const yaml = join(tmp.dir, 'p.yaml');
    writeFileSync(
      yaml,
      ['sources:', '  - name: gate', '    url: "lavfi:testsrc2=size=320x240:rate=10"', '    lines: [{ name: l1, points: [[0, 120], [320, 120]] }]', 'outputs:', '  dashboard: { port: 0 }', ''].join('\n'),
    );
    const r = xnorcam(['run', yaml, ...testModelArgs, '--duration', '3', '--stats', '0']);
    expect(r.stderr).not.toMatch(/^error/m);
    expect(r.status).toBe(0);
    // Stdout is no terminal and the log is JSON: the address and the last status are log records on stderr.
    expect(dashboardUrl(r.stderr)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/"msg":"source status","source":"gate","state":"stopped"/);
  });

  it('when a file source ends, sums up each line\'s counts by direction and class (nothing else keeps them), and says at start that they are not saved', async () => {
    const { video, truth } = roadVideo();
    const line = ['--line', `count:${truth.line.points.flat().join(',')}`, '--line', 'empty:0,1,1,1'];
    const env = (format: string) => ({ ...process.env, XNORCAM_LOG_LEVEL: 'info', XNORCAM_LOG_FORMAT: format });
    // The whole file, and beside it a run stopped after 2 s (a person at a terminal).
    const [json, text] = await Promise.all([
      spawnAsync(process.execPath, [bin, 'run', video, ...line, '--no-dashboard', '--json', '--stats', '0'], { timeout: 60_000, env: env('json') }),
      spawnAsync(process.execPath, [bin, 'run', video, ...line, '--no-dashboard', '--stats', '0', '--duration', '2'], { timeout: 60_000, env: env('text') }),
    ]);
    expect(json.status, json.stderr).toBe(0);
    const crossed: Record<string, Record<string, number>> = { forward: {}, backward: {} };
    for (const l of json.stdout.trim().split('\n')) {
      for (const e of (JSON.parse(l) as { events: { type: string; line?: string; direction?: 'forward' | 'backward'; className?: string }[] }).events) {
        if (e.type === 'line-crossing' && e.line === 'count') crossed[e.direction!][e.className!] = (crossed[e.direction!][e.className!] ?? 0) + 1;
      }
    }
    expect(Object.keys(crossed.forward).length + Object.keys(crossed.backward).length).toBeGreaterThan(0);
    const records = json.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; [k: string]: unknown });
    expect(records.filter((r) => r.msg.startsWith('counts are not saved'))).toHaveLength(1);
    const summary = records.filter((r) => r.msg === 'counts');
    expect(summary).toEqual([expect.objectContaining({ source: 'road', since: expect.stringMatching(/^\d{4}-/), lines: { count: crossed, empty: { forward: {}, backward: {} } } })]);

    // A person at a terminal reads text lines after the last status line, one per counting line.
    expect(text.status, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/ info  counts are not saved to any file.*outputs\.files.*xnorcam batch/);
    const lines = text.stderr.split('\n').filter((l) => l.startsWith('road '));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^road {10}  line count  forward (0|\w+ \d+(, \w+ \d+)*)  backward (0|\w+ \d+(, \w+ \d+)*)  \(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)$/);
    expect(lines[1]).toMatch(/^road {10}  line empty  forward 0  backward 0  \(since /);
  }, 120_000);

  it('takes --calibration and --zone as batch does: speeds on tracks and crossings, zone events, for a source on the command line', async () => {
    const { video, truth } = roadVideo();
    const calibration = truth.calibration.image.map((p, i) => `${p.join(',')}=${truth.calibration.world[i].join(',')}`).join(' ');
    const scene = ['--line', `count:${truth.line.points.flat().join(',')}`, '--calibration', calibration, '--zone', `road:${truth.calibration.image.flat().join(',')}`];
    // A pipeline file beside the flags: refused before any detector, so these run beside the scene's run.
    const yaml = join(tmp.dir, 'scene.yaml');
    writeFileSync(yaml, ['sources:', '  - name: gate', `    url: ${video}`, ''].join('\n'));
    const refusals = [['--calibration', calibration, 'calibration'], ['--zone', 'road:0,0,100,0,100,100', 'zones']];
    const [r, ...refused] = await Promise.all([
      // The bundled model: speeds need real detections to track. The file plays at its own rate and ends the run.
      xnorcamAsync(['run', video, ...scene, '--no-dashboard', '--json', '--stats', '0']),
      ...refusals.map(([flag, value]) => xnorcamAsync(['run', yaml, flag, value])),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const frames = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { tracks?: { speedKmh?: number }[]; events: { type: string; speedKmh?: number }[] });
    expect(frames.some((f) => f.tracks?.some((t) => t.speedKmh !== undefined))).toBe(true);
    const events = frames.flatMap((f) => f.events);
    expect(events.some((e) => e.type === 'line-crossing' && e.speedKmh !== undefined)).toBe(true);
    expect(events.some((e) => e.type === 'zone-enter')).toBe(true);

    // A pipeline file gives each source its own: a flag beside it would be for no source in particular.
    for (const [i, [flag, , key]] of refusals.entries()) {
      expect(refused[i].status).toBe(2);
      expect(refused[i].stderr.trim()).toBe(`error: xnorcam run: ${flag}: not with a pipeline file (${yaml}): give each source its ${key}: there (see xnorcam run --help)`);
    }
  }, 120_000);

  it("a mode: batch source's events.jsonl has one time base: source-up dated by the recording, as its crossings, the wall clock apart", () => {
    // 3 s of a real road (cars crossing y = 150 in its first second), stream-copied: the file's own times.
    const clip = join(tmp.dir, 'rear.avi');
    const cut = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', join(shared, 'fixtures/real-traffic/video/highway_us_rear_320x240.avi'), '-t', '3', '-c', 'copy', clip], { encoding: 'utf8' });
    expect(cut.status, cut.stderr).toBe(0);
    const dir = join(tmp.dir, 'rec-out');
    const yaml = join(tmp.dir, 'rec.yaml');
    writeFileSync(
      yaml,
      ['sources:', '  - name: rec', `    url: ${clip}`, '    mode: batch', '    lines: [{ name: mid, points: [[0, 150], [320, 150]] }]', 'outputs:', '  dashboard: { enabled: false }', `  files: { dir: ${dir}, events: true }`, ''].join('\n'),
    );
    const r = spawnSync(process.execPath, [bin, 'run', yaml, '--stats', '0'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn' } });
    expect(r.status, r.stderr).toBe(0);
    const events = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; at: number; ptsMs?: number; wallClockAt?: number });
    // Up at the start of the recording (it was the epoch ms, beside crossings at 567 ms).
    expect(events[0]).toEqual({ type: 'source-up', source: 'rec', at: 0, wallClockAt: expect.any(Number) });
    expect(new Date(events[0].wallClockAt!).getUTCFullYear()).toBeGreaterThan(2000);
    const crossings = events.filter((e) => e.type === 'line-crossing');
    expect(crossings.length).toBeGreaterThan(0);
    for (const e of events) expect(e.at, JSON.stringify(e)).toBeLessThanOrEqual(3000);
    for (const e of crossings) expect(e.at).toBe(e.ptsMs);
  });

  it('refuses an FFMPEG_PATH that does not run in one line, rather than quietly use another ffmpeg', async () => {
    const notExecutable = join(tmp.dir, 'ffmpeg-not-executable');
    writeFileSync(notExecutable, 'not a program\n', { mode: 0o644 });
    const cases = [['/nonexistent/ffmpeg', 'no such file'], [notExecutable, 'permission denied']];
    const runs = await Promise.all(
      cases.map(([path]) => xnorcamAsync(['run', 'lavfi:testsrc2=size=160x120:rate=5', ...testModelArgs, '--no-dashboard', '--duration', '2'], { ...process.env, XNORCAM_LOG_LEVEL: 'warn', FFMPEG_PATH: path })),
    );
    for (const [i, [path, why]] of cases.entries()) {
      const r = runs[i];
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([`error: FFMPEG_PATH=${path}: ${why}`]);
    }
  });

  it('a file source that does not exist: one line, non-zero exit', () => {
    const r = xnorcam(['run', join(tmp.dir, 'missing.mp4'), ...testModelArgs, '--no-dashboard']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`error: ${join(tmp.dir, 'missing.mp4')}: no such file`]);
  });

  it('a file source that is no video (audio only, text): one line before anything starts, as batch says it', async () => {
    const audio = join(tmp.dir, 'tone.wav');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=1', audio]);
    expect(made.status).toBe(0);
    const text = join(tmp.dir, 'notes.txt');
    writeFileSync(text, 'camera 4 faces north\n'.repeat(40));
    const cases = [[audio, 'no video stream'], [text, 'not a video (ffmpeg reads it as a text file)']];
    const runs = await Promise.all(cases.map(([file]) => xnorcamAsync(['run', file, ...testModelArgs, '--no-dashboard', '--duration', '3'])));
    for (const [i, [file, why]] of cases.entries()) {
      const r = runs[i];
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([`error: ${file}: ${why}`]);
    }
  });

  const demoVideo = join(repoRoot, '.cache/demo/traffic-demo.mp4');
  // What `npm start` does on a fresh clone: render the demo clip on first use (~20–40 s here), then play it.
  it.skipIf(!existsSync(defaultModelPath()))('demo renders its video on first use, plays it as a live camera with the bundled model and prints the dashboard URL', () => {
    // A text log, as on a terminal: the status lines are text on stdout.
    const r = spawnSync(process.execPath, [bin, 'demo', '--port', '0', '--duration', '5', '--stats', '0'], { encoding: 'utf8', timeout: 170_000, env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn', XNORCAM_LOG_FORMAT: 'text' } });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(demoVideo)).toBe(true);
    expect(existsSync(demoVideo.replace(/\.mp4$/, '.truth.json'))).toBe(true);
    expect(r.stdout).toMatch(/^xnorcam demo: open the dashboard at: http:\/\/127\.0\.0\.1:\d+\//m);
    expect(r.stdout).toMatch(/demo\s+stopped\s+decoded [1-9][\d.]* fps\s+detected [1-9]/);
  }, 180_000);

  /** The processes whose parent is `pid`, and whether one is still there (a zombie, dead but not yet reaped, is not). */
  const childrenOf = (pid: number) =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .flatMap((d) => {
        try {
          const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid ? [Number(d)] : [];
        } catch {
          return []; // gone meanwhile
        }
      });
  const alive = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  };

  // Run after the test above: its render and this one's share .cache/demo's partial file.
  it.skipIf(!existsSync(defaultModelPath()))('demo stopped by a signal while it renders its video stops the renderer and its ffmpeg, and leaves no partial file', async () => {
    const before = existsSync(demoVideo) ? statSync(demoVideo) : undefined;
    const partial = demoVideo.replace(/\.mp4$/, '.partial.mp4');
    const child = spawn(process.execPath, [bin, 'demo', '--regenerate', '--port', '0', '--stats', '0'], { env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn', XNORCAM_LOG_FORMAT: 'text' } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let renderers: number[] = [];
    try {
      // The renderer (xnorcam synth video) and the ffmpeg it encodes with, at work.
      await until('the renderer and its ffmpeg', () => {
        const synth = childrenOf(child.pid!);
        renderers = [...synth, ...synth.flatMap(childrenOf)];
        return renderers.length >= 2 && existsSync(partial);
      }, 60_000);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(130);
    expect(err.trim().split('\n').at(-1)).toBe('error: interrupted by SIGINT while rendering the demo video: nothing kept; the next xnorcam demo renders it again');
    expect(renderers.filter(alive)).toEqual([]);
    expect(readdirSync(dirname(demoVideo)).filter((f) => f.includes('.partial.'))).toEqual([]);
    // The clip already rendered is untouched.
    if (before) expect([statSync(demoVideo).size, statSync(demoVideo).mtimeMs]).toEqual([before.size, before.mtimeMs]);
  }, 120_000);

  it.skipIf(existsSync(defaultModelPath()))('demo without the bundled model says so in one line', () => {
    const r = xnorcam(['demo', '--port', '0', '--duration', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: the bundled model .*xnorcam-traffic\.xnor is missing/);
  });
});
