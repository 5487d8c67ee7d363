import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./rtsp-server.py', import.meta.url));

export interface RtspServerOptions {
  /** PNG to serve as a still camera (else a moving GStreamer test pattern). */
  image?: string;
  width?: number;
  height?: number;
  fps?: number;
  port?: number;
  /** The camera asks for this user name and password (basic authentication); `url` carries them. */
  user?: string;
  password?: string;
  /** A GStreamer pipeline of its own (ending in `rtph264pay name=pay0`), instead of image/test pattern. */
  launch?: string;
}

/** A real RTSP camera on 127.0.0.1 (GStreamer via /usr/bin/python3). `stop()` then `start()` = camera reboot. */
export class TestRtspServer {
  port = 0;
  private proc?: ChildProcess;

  constructor(private readonly opts: RtspServerOptions = {}) {
    this.port = opts.port ?? 0;
  }

  get url(): string {
    const login = this.opts.user ? `${this.opts.user}:${this.opts.password ?? ''}@` : '';
    return `rtsp://${login}127.0.0.1:${this.port}/cam`;
  }

  async start(): Promise<void> {
    const args = [script, '--port', String(this.port), '--width', String(this.opts.width ?? 320), '--height', String(this.opts.height ?? 320), '--fps', String(this.opts.fps ?? 15)];
    if (this.opts.image) args.push('--image', this.opts.image);
    if (this.opts.user) args.push('--user', this.opts.user, '--password', this.opts.password ?? '');
    if (this.opts.launch) args.push('--launch', this.opts.launch);
    // A restarted camera reuses its port; the old socket may linger for a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.spawnOnce(args);
        return;
      } catch (e) {
        if (attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private spawnOnce(args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const proc = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`RTSP server did not start: ${err}`));
      }, 15_000);
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /READY (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          this.port = Number(m[1]);
          this.proc = proc;
          resolve();
        }
      });
      proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      proc.on('exit', (code) => {
        clearTimeout(timer);
        if (!this.proc || this.proc !== proc) reject(new Error(`RTSP server exited (${code}): ${err.trim().split('\n').pop()}`));
      });
    });
  }

  /** Kill the camera (like pulling its power). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    this.proc = undefined;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }
}
