import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeVideo, tempDir } from '../helpers/videos.js';
import { bin, imageA, repoRoot, testModel } from '../helpers/model.js';
import { TestRtspServer } from '../helpers/rtsp-server.js';

/**
 * `xnorcam run pipeline.yaml` picks up edits of its file while running: the real CLI, real ffmpeg
 * playing two generated clips in a loop, the bundled model and the darknet fixture model converted
 * to .xnor. Source B gets another model, A must not notice.
 */
interface Result {
  frame: { source: string; seq: number };
  detections: { className: string }[];
  events: { type: string; source: string }[];
}
interface LogLine {
  level: string;
  msg: string;
  source?: string;
  changed?: string;
  model?: string;
  reason?: string;
  error?: string;
  reconnects?: number;
}

const fixtureClasses = new Set(['class0', 'class1', 'class2']);

function pipelineYaml(opts: { modelB?: string; extra?: string; badMode?: boolean }): string {
  return [
    'sources:',
    '  - name: A',
    '    url: a.mp4',
    ...(opts.badMode ? ['    mode: realtime'] : []),
    '    loop: true',
    '    fpsCap: 5',
    '  - name: B',
    '    url: b.mp4',
    ...(opts.modelB ? [`    model: ${opts.modelB}`] : []),
    '    loop: true',
    '    fpsCap: 5',
    ...(opts.extra ? [opts.extra] : []),
    'outputs:',
    '  dashboard: { enabled: false }',
    '',
  ].join('\n');
}

class RunningCli {
  readonly results: Result[] = [];
  readonly sourceEvents: { source: string; events: Result['events'] }[] = [];
  /** The stats lines: log records here, as the log is JSON. */
  readonly stats: LogLine[] = [];
  readonly logs: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  /** The log lines with this message. */
  said(msg: string): LogLine[] {
    return this.logs.filter((l) => l.msg === msg);
  }

  /** The events a source told outside its frames (source-up/down). */
  eventsOf(source: string): Result['events'] {
    return this.sourceEvents.filter((e) => e.source === source).flatMap((e) => e.events);
  }

  constructor(args: string[], cwd: string) {
    this.child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, XNORCAM_LOG_LEVEL: 'info', XNORCAM_LOG_FORMAT: 'json' } });
    // --json: stdout holds only the results; the stats go to stderr as records of the (JSON) log.
    // Frame results, and a source's events not tied to a frame ({"source","events"}: up/down as they happen).
    lines(this.child.stdout!, (l) => {
      const o = JSON.parse(l) as Result | { source: string; events: Result['events'] };
      if ('frame' in o) this.results.push(o);
      else this.sourceEvents.push(o);
    });
    lines(this.child.stderr!, (l) => {
      const o = JSON.parse(l) as LogLine;
      if (o.msg === 'source status') this.stats.push(o);
      else this.logs.push(o);
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  of(source: string): Result[] {
    return this.results.filter((r) => r.frame.source === source);
  }

  /** The model id the latest stats line shows for a source. */
  modelOf(source: string): string | undefined {
    return this.stats.filter((l) => l.source === source).at(-1)?.model as string | undefined;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Whether the process has a handler for SIGHUP yet (bit 0 of SigCgt in /proc/PID/status). */
  catchesHup(): boolean {
    const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'))?.[1] ?? '0';
    return (BigInt(`0x${caught}`) & 1n) === 1n;
  }
}

function lines(stream: NodeJS.ReadableStream, onLine: (l: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (l.trim()) onLine(l);
    }
  });
}

async function waitFor(what: string, cond: () => boolean, cli: RunningCli, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}; logs:\n${cli.logs.map((l) => JSON.stringify(l)).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('xnorcam run: live reload of the pipeline file', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir();
    // The test image over a moving pattern: the fixture model finds its classes on it, the traffic model does not.
    for (const n of ['a', 'b']) makeVideo(join(tmp.dir, `${n}.mp4`), { width: 320, height: 240, fps: 10, seconds: 2, image: imageA });
    const r = spawnSync(process.execPath, [bin, 'convert', testModel.cfg, testModel.weights, '--names', testModel.names, '-o', join(tmp.dir, 'fixture.xnor')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('restarts only the edited source with its new model, rejects an invalid edit, adds a source, and reloads on SIGHUP', async () => {
    const file = join(tmp.dir, 'p.yaml');
    writeFileSync(file, pipelineYaml({}));
    const cli = new RunningCli(['run', 'p.yaml', '--json', '--stats', '1', '--workers', '2'], tmp.dir);
    try {
      await waitFor('both sources detecting', () => cli.of('A').length >= 5 && cli.of('B').length >= 5 && !!cli.modelOf('B'), cli, 30_000);
      const bundled = cli.modelOf('A')!;
      expect(bundled).toMatch(/^xnorcam-traffic@[0-9a-f]{8}$/);
      expect(cli.modelOf('B')).toBe(bundled);
      const bBefore = cli.of('B').length;
      expect(cli.of('B').flatMap((r) => r.detections).some((d) => fixtureClasses.has(d.className))).toBe(false);

      // 1. Source B gets the fixture model: only B restarts, and its detections now come from that model.
      writeFileSync(file, pipelineYaml({ modelB: 'fixture.xnor' }));
      await waitFor('B restarted', () => cli.logs.some((l) => l.msg === 'source restarted' && l.source === 'B'), cli);
      const restarted = cli.logs.find((l) => l.msg === 'source restarted')!;
      expect(restarted).toMatchObject({ source: 'B', changed: 'model' });
      expect(restarted.model).toMatch(/^fixture@[0-9a-f]{8}$/);
      await waitFor('B results from the new model', () => cli.of('B').slice(bBefore).some((r) => r.detections.some((d) => fixtureClasses.has(d.className))), cli);
      await waitFor('stats showing the new model', () => cli.modelOf('B') === restarted.model, cli);
      expect(cli.modelOf('A')).toBe(bundled);
      const newB = cli.of('B').slice(bBefore).filter((r) => r.detections.length > 0);
      expect(newB.length).toBeGreaterThan(0);
      // After the restart every detection of B is the fixture's (its seq restarts with the new ffmpeg).
      const restartAt = cli.of('B').findIndex((r, i) => i >= bBefore && r.frame.seq === 0);
      expect(restartAt).toBeGreaterThanOrEqual(bBefore);
      expect(cli.of('B').slice(restartAt).flatMap((r) => r.detections).every((d) => fixtureClasses.has(d.className))).toBe(true);

      // 2. An invalid edit is rejected with file:line: key path; both sources go on as before.
      writeFileSync(file, pipelineYaml({ modelB: 'fixture.xnor', badMode: true }));
      await waitFor('rejection', () => cli.logs.some((l) => l.msg.startsWith('pipeline file rejected')), cli);
      const rejected = cli.logs.find((l) => l.msg.startsWith('pipeline file rejected'))!;
      expect(rejected.level).toBe('error');
      expect(rejected.error).toMatch(/^p\.yaml:4: sources\[0\]\.mode: .*"live"\|"batch"/);
      const [a0, b0] = [cli.of('A').length, cli.of('B').length];
      await waitFor('both still running', () => cli.of('A').length >= a0 + 5 && cli.of('B').length >= b0 + 5, cli);
      expect(cli.modelOf('B')).toBe(restarted.model);

      // 3. A missing model file is rejected too, naming the key.
      writeFileSync(file, pipelineYaml({ modelB: 'nope.xnor' }));
      await waitFor('second rejection', () => cli.logs.filter((l) => l.msg.startsWith('pipeline file rejected')).length === 2, cli);
      expect(cli.logs.filter((l) => l.msg.startsWith('pipeline file rejected'))[1].error).toBe('p.yaml:8: sources[1].model: nope.xnor: no such file');

      // 4. A valid file again, with a third source: it starts, A and B are left alone.
      writeFileSync(file, pipelineYaml({ modelB: 'fixture.xnor', extra: '  - name: C\n    url: "lavfi:testsrc2=size=160x120:rate=5"' }));
      await waitFor('C added', () => cli.logs.some((l) => l.msg === 'source added' && l.source === 'C') && cli.of('C').length >= 3, cli);

      // 5. The model file replaced in place (a freshly specialised model) + SIGHUP: B restarts on it.
      copyFileSync(join(repoRoot, 'models', 'xnorcam-traffic.xnor'), join(tmp.dir, 'fixture.xnor'));
      cli.kill('SIGHUP');
      await waitFor('B restarted on SIGHUP', () => cli.logs.filter((l) => l.msg === 'source restarted' && l.source === 'B').length === 2, cli);
      const second = cli.logs.filter((l) => l.msg === 'source restarted').at(-1)!;
      expect(second.model).toBe(`fixture@${bundled.split('@')[1]}`);
      await waitFor('stats after SIGHUP', () => cli.modelOf('B') === second.model, cli);
    } finally {
      cli.kill('SIGTERM');
    }
    expect(await cli.exited).toBe(0);

    // Source A never stopped: one ffmpeg run (seq never restarts), one source-up, no down, no reconnect.
    const seqA = cli.of('A').map((r) => r.frame.seq);
    expect(seqA.length).toBeGreaterThan(20);
    expect(seqA.every((s, i) => i === 0 || s > seqA[i - 1])).toBe(true);
    const eventsA = cli.sourceEvents.filter((e) => e.source === 'A').flatMap((e) => e.events);
    expect(eventsA.filter((e) => e.type === 'source-up')).toHaveLength(1);
    expect(eventsA.filter((e) => e.type === 'source-down')).toHaveLength(0);
    expect(cli.logs.filter((l) => l.source === 'A')).toEqual([]);
    expect(cli.stats.filter((l) => l.source === 'A').at(-1)).toMatchObject({ reconnects: 0 });
    expect(cli.logs.filter((l) => l.msg === 'source restarted').map((l) => l.source)).toEqual(['B', 'B']);
  }, 90_000);

  it('takes a SIGHUP while still starting as a reload (it killed the process), and a SIGTERM then as a stop', async () => {
    writeFileSync(join(tmp.dir, 'h.yaml'), pipelineYaml({}));
    const cli = new RunningCli(['run', 'h.yaml', '--json', '--stats', '1', '--workers', '1'], tmp.dir);
    try {
      // Signals are taken from the 'starting' line on; the pipeline starts (models load) after it.
      await waitFor('the starting line', () => cli.logs.some((l) => l.msg === 'starting'), cli);
      cli.kill('SIGHUP');
      await waitFor('the reload asked for while starting', () => cli.logs.some((l) => l.msg === 'pipeline reloaded'), cli, 30_000);
      await waitFor('frames after it', () => cli.of('A').length >= 3, cli, 30_000);
      expect(cli.logs.some((l) => l.msg === 'pipeline started')).toBe(true);
    } finally {
      cli.kill('SIGTERM');
    }
    expect(await cli.exited).toBe(0);

    // Sooner still: while the run command's modules load, before its own handlers are installed.
    const loading = new RunningCli(['run', 'h.yaml', '--json', '--stats', '1', '--workers', '1'], tmp.dir);
    try {
      await waitFor('a SIGHUP handler', () => loading.catchesHup(), loading);
      expect(loading.logs.filter((l) => l.msg === 'starting')).toEqual([]);
      loading.kill('SIGHUP');
      await waitFor('the reload asked for while loading', () => loading.logs.some((l) => l.msg === 'pipeline reloaded'), loading, 30_000);
    } finally {
      loading.kill('SIGTERM');
    }
    expect(await loading.exited).toBe(0);

    const early = new RunningCli(['run', 'h.yaml', '--json', '--stats', '1', '--workers', '1'], tmp.dir);
    try {
      await waitFor('the starting line', () => early.logs.some((l) => l.msg === 'starting'), early);
    } finally {
      early.kill('SIGTERM');
    }
    expect(await early.exited).toBe(0);
  }, 60_000);

  it('refuses an edit naming a recording that is no video or is missing, with its url: line, and the source keeps playing', async () => {
    const camera = new TestRtspServer({ width: 160, height: 120, fps: 10 });
    await camera.start();
    // Not a video, with a video's name: ffmpeg tried it once a second, forever, instead of the recording.
    writeFileSync(join(tmp.dir, 'notvideo.mp4'), readFileSync(join(repoRoot, 'README.md')).subarray(0, 5000));
    const yaml = (url: string, extra: string[] = []) =>
      ['sources:', '  - name: street', `    url: ${url}`, '    loop: true', '    fpsCap: 5', '  - name: cam', `    url: ${camera.url}`, '    fpsCap: 5', ...extra, 'outputs:', '  dashboard: { enabled: false }', ''].join('\n');
    const file = join(tmp.dir, 'v.yaml');
    writeFileSync(file, yaml('a.mp4'));
    const cli = new RunningCli(['run', 'v.yaml', '--json', '--stats', '1', '--workers', '1'], tmp.dir);
    const rejections = () => cli.logs.filter((l) => l.msg.startsWith('pipeline file rejected'));
    try {
      await waitFor('both sources detecting', () => cli.of('street').length >= 3 && cli.of('cam').length >= 3, cli, 30_000);

      writeFileSync(file, yaml('notvideo.mp4'));
      await waitFor('the rejection', () => rejections().length === 1, cli);
      expect(rejections()[0]).toMatchObject({
        level: 'error',
        error: `v.yaml:3: sources[0].url: ${join(tmp.dir, 'notvideo.mp4')}: not a readable video (moov atom not found: the MP4 is incomplete or truncated)`,
      });
      const before = cli.of('street').length;
      await waitFor('street still playing', () => cli.of('street').length >= before + 3, cli);

      // As at start-up: the file, its line and key.
      writeFileSync(file, yaml('missing.mp4'));
      await waitFor('the second rejection', () => rejections().length === 2, cli);
      expect(rejections()[1].error).toBe(`v.yaml:3: sources[0].url: ${join(tmp.dir, 'missing.mp4')}: no such file`);

      // An empty one is that, not a damaged MP4.
      writeFileSync(join(tmp.dir, 'empty.mp4'), '');
      writeFileSync(file, yaml('empty.mp4'));
      await waitFor('the third rejection', () => rejections().length === 3, cli);
      expect(rejections()[2].error).toBe(`v.yaml:3: sources[0].url: ${join(tmp.dir, 'empty.mp4')}: empty file (0 bytes)`);
    } finally {
      cli.kill('SIGTERM');
    }
    const code = await cli.exited;
    await camera.stop();
    expect(code).toBe(0);
    expect(cli.said('source restarted')).toEqual([]);
    const seq = cli.of('street').map((r) => r.frame.seq);
    expect(seq.every((s, i) => i === 0 || s > seq[i - 1])).toBe(true);
    expect(cli.eventsOf('street').filter((e) => e.type === 'source-down')).toEqual([]);
  }, 60_000);

  it('names the settings a restart would apply that an edit changed, each by its key', async () => {
    const yaml = (o: { interval?: number; webhook?: boolean; port?: number; thresh?: number }) =>
      [
        ...(o.thresh ? [`detector: { thresh: ${o.thresh} }`] : []),
        ...(o.interval ? [`countIntervalSeconds: ${o.interval}`] : []),
        'sources:',
        '  - name: A',
        '    url: "lavfi:testsrc2=size=160x120:rate=5"',
        'outputs:',
        `  dashboard: { enabled: false${o.port ? `, port: ${o.port}` : ''} }`,
        ...(o.webhook ? ['  webhooks: [{ url: "http://127.0.0.1:9/hook" }]'] : []),
        '',
      ].join('\n');
    const file = join(tmp.dir, 'f.yaml');
    writeFileSync(file, yaml({}));
    const cli = new RunningCli(['run', 'f.yaml', '--json', '--stats', '1', '--workers', '1'], tmp.dir);
    const edit = async (o: Parameters<typeof yaml>[0]) => {
      const n = cli.said('pipeline reloaded').length;
      writeFileSync(file, yaml(o));
      await waitFor('the reload', () => cli.said('pipeline reloaded').length === n + 1, cli);
    };
    try {
      await waitFor('A detecting', () => cli.of('A').length >= 2, cli, 30_000);
      await edit({ interval: 30 });
      // Each edit from the file the run started with: the interval set back is no change any more.
      await edit({ webhook: true });
      await edit({ port: 9000 });
      await edit({ thresh: 0.3 });
    } finally {
      cli.kill('SIGTERM');
    }
    expect(await cli.exited).toBe(0);
    const warned = cli.logs.filter((l) => l.level === 'warn' && l.msg.includes('xnorcam run restarts'));
    expect(warned.map((l) => l.changed)).toEqual(['countIntervalSeconds', 'outputs.webhooks', 'outputs.dashboard']);
    expect(cli.said('detector thresholds changed')).toHaveLength(1);
  }, 60_000);

  it('a recording swapped for one that cannot be decoded: one error line and a source-down when it fails, and a stop still exits 0', async () => {
    // Its header (index first) reads, so it passes the check, but its frames are cut off: ffmpeg decodes none.
    const full = makeVideo(join(tmp.dir, 'whole.mp4'), { width: 160, height: 120, fps: 10, seconds: 2 });
    const cut = join(tmp.dir, 'cut.mp4');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', full, '-c', 'copy', '-movflags', '+faststart', cut], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    truncateSync(cut, readFileSync(cut).indexOf('mdat') + 100);
    const yaml = (url: string, loop: boolean) =>
      ['sources:', '  - name: street', `    url: ${url}`, `    loop: ${loop}`, '  - name: cam', '    url: "lavfi:testsrc2=size=160x120:rate=5"', 'outputs:', '  dashboard: { enabled: false }', ''].join('\n');
    const file = join(tmp.dir, 'c.yaml');
    writeFileSync(file, yaml('a.mp4', true));
    const cli = new RunningCli(['run', 'c.yaml', '--json', '--stats', '1', '--workers', '1'], tmp.dir);
    try {
      await waitFor('both sources detecting', () => cli.of('street').length >= 2 && cli.of('cam').length >= 2, cli, 30_000);
      writeFileSync(file, yaml('cut.mp4', false));
      await waitFor('the failure told', () => cli.said('source failed; it is not retried').length > 0, cli);
      await waitFor('its source-down', () => cli.eventsOf('street').some((e) => e.type === 'source-down'), cli);
    } finally {
      cli.kill('SIGTERM');
    }
    expect(await cli.exited).toBe(0);
    expect(cli.logs.filter((l) => l.level === 'error')).toEqual([expect.objectContaining({ msg: 'source failed; it is not retried', source: 'street' })]);
    expect(cli.eventsOf('cam').filter((e) => e.type === 'source-down')).toEqual([]);
  }, 60_000);
});
