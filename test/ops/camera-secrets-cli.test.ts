/** A camera's password, however its URL carries it, is in no line, name or answer of `xnorcam run`. */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardUrl } from '../helpers/cli.js';
import { bin, testModelArgs } from '../helpers/model.js';
import { tempDir } from '../helpers/videos.js';
import { until } from '../helpers/wait.js';

// Nothing listens on port 1: each camera is refused at once and keeps being retried.
const cameras = [
  { url: 'rtsp://127.0.0.1:1/user=admin_password=XmeyeSecret1_channel=1_stream=0.sdp', name: '127.0.0.1-user_admin_password__channel_1_stream_0.sdp' },
  { url: 'rtsp://127.0.0.1:1/user=admin&pw=PwSecret2&channel=1', name: '127.0.0.1-user_admin_pw_channel_1' },
  { url: 'rtsp://admin:Slash/Secret3@127.0.0.1:1/cam', name: '127.0.0.1-cam' },
];
const secrets = /XmeyeSecret1|PwSecret2|Secret3/;

describe('camera passwords in URLs, seen from outside', () => {
  let tmp: ReturnType<typeof tempDir>;
  let child: ChildProcess | undefined;
  beforeAll(() => (tmp = tempDir()));
  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    tmp.cleanup();
  });

  it('run: names, log lines, /api/sources and /metrics show none of them', async () => {
    child = spawn(process.execPath, [bin, 'run', ...cameras.map((c) => c.url), ...testModelArgs, '--workers', '1', '--port', '0', '--stats', '1'], {
      cwd: tmp.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, XNORCAM_LOG_FORMAT: 'json', XNORCAM_LOG_LEVEL: 'debug' },
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((r) => child!.once('exit', r));
    await until('the dashboard URL', () => dashboardUrl(out) !== undefined || child!.exitCode !== null, 30_000);
    const url = dashboardUrl(out);
    expect(url, out.slice(-500)).toBeDefined();
    const down = () => new Set([...out.matchAll(/"source down, reconnecting","source":"([^"]+)"/g)].map((m) => m[1]));
    await until('every camera down once', () => down().size === cameras.length, 30_000);
    expect([...down()].sort()).toEqual(cameras.map((c) => c.name).sort());
    const api = (await (await fetch(`${url}api/sources`)).json()) as { sources: { name: string; url: string }[] };
    expect(api.sources.map((s) => s.name)).toEqual(cameras.map((c) => c.name));
    expect(api.sources.map((s) => s.url)).toEqual([
      'rtsp://127.0.0.1:1/user=admin_password=***_channel=1_stream=0.sdp',
      'rtsp://127.0.0.1:1/user=admin&pw=***&channel=1',
      'rtsp://admin:***@127.0.0.1:1/cam',
    ]);
    const metrics = await (await fetch(`${url}metrics`)).text();
    expect(metrics).toContain(`source="${cameras[0].name}"`);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const text of [JSON.stringify(api), metrics, out]) expect(text).not.toMatch(secrets);
  }, 90_000);
});
