import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

/**
 * Debian's firefox-esr driven over WebDriver BiDi, the W3C protocol Firefox speaks natively
 * (playwright-core drives only Playwright's own patched Firefox build, which we may not download).
 * Enough of the protocol for the dashboard tests: navigate, evaluate, wait, screenshot.
 * Every launch gets a fresh temporary profile; close() always kills Firefox and removes it.
 */

export const FIREFOX_BIN = process.env.XNORCAM_FIREFOX ?? 'firefox-esr';

/** Null when Firefox can be started here, else why not (for a skip message). */
export function firefoxUnavailable(): string | null {
  const r = spawnSync(FIREFOX_BIN, ['--version'], { encoding: 'utf8', timeout: 15_000 });
  if (r.error || r.status !== 0) return `${FIREFOX_BIN} not runnable (${r.error?.message ?? r.stderr.trim()}); install it with apt-get install firefox-esr or set XNORCAM_FIREFOX`;
  const m = /(\d+)\./.exec(r.stdout);
  if (m && Number(m[1]) < 128) return `${r.stdout.trim()}: WebDriver BiDi needs Firefox ESR 128 or newer`;
  return null;
}

// Quiet and offline: no first-run pages, update checks, telemetry or remote settings fetches.
// (Firefox adds its own "recommended" automation prefs on top when remote debugging is on.)
const PREFS: Record<string, string | number | boolean> = {
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.aboutwelcome.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.disabledForTesting': true,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'services.settings.server': 'data:,#remote-settings-dummy/v1',
  'extensions.update.enabled': false,
  'layout.css.devPixelsPerPx': '1.0',
};

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  method: string;
}

export interface LogEntry {
  level: string;
  text: string;
  type: string;
}

export class FirefoxBidi {
  /** Console messages and uncaught page errors (BiDi log.entryAdded). */
  readonly log: LogEntry[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly proc: ChildProcess,
    private readonly profile: string,
    private readonly ws: WebSocket,
    readonly version: string,
    /** The top-level browsing context (the one tab) every command goes to. */
    public context = '',
  ) {
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.on('close', () => this.failAll(new Error('firefox: BiDi connection closed')));
    ws.on('error', () => {});
  }

  /** Starts headless Firefox with a fresh profile, opens a BiDi session and sizes the one tab. */
  static async launch(opts: { width?: number; height?: number; startTimeoutMs?: number } = {}): Promise<FirefoxBidi> {
    const profile = mkdtempSync(join(tmpdir(), 'xnorcam-firefox-'));
    writeFileSync(join(profile, 'user.js'), Object.entries(PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
    // Its own process group, so close() can kill the content processes along with the parent.
    const proc = spawn(FIREFOX_BIN, ['--headless', '--remote-debugging-port=0', '-profile', profile, '-no-remote', '-new-instance', 'about:blank'], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1', MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
    });
    const killNow = () => {
      killGroup(proc);
      rmSync(profile, { recursive: true, force: true });
    };
    // If the test process dies without close(), Firefox must not outlive it.
    const onExit = () => killGroup(proc);
    process.once('exit', onExit);
    proc.once('exit', () => process.off('exit', onExit));
    let stderr = '';
    let endpoint: string;
    try {
      endpoint = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`firefox: no "WebDriver BiDi listening" within ${opts.startTimeoutMs ?? 30_000} ms; stderr:\n${stderr.slice(-2000)}`)), opts.startTimeoutMs ?? 30_000);
        proc.once('error', (e) => (clearTimeout(timer), reject(new Error(`firefox: cannot start ${FIREFOX_BIN}: ${e.message}`))));
        proc.once('exit', (code, sig) => (clearTimeout(timer), reject(new Error(`firefox exited (${code ?? sig}) before BiDi was up; stderr:\n${stderr.slice(-2000)}`))));
        proc.stderr!.setEncoding('utf8');
        proc.stderr!.on('data', (chunk: string) => {
          stderr += chunk;
          if (stderr.length > 100_000) stderr = stderr.slice(-20_000);
          const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      // Keep draining stderr, or a chatty Firefox blocks on a full pipe.
      proc.stderr!.removeAllListeners('data');
      proc.stderr!.resume();
      const ws = new WebSocket(endpoint.replace(/\/$/, '') + '/session', { perMessageDeflate: false, maxPayload: 256 << 20 });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', (e) => reject(new Error(`firefox: BiDi socket ${endpoint}: ${e.message}`)));
      });
      const ff = new FirefoxBidi(proc, profile, ws, '');
      try {
        const s = (await ff.send('session.new', { capabilities: { alwaysMatch: { acceptInsecureCerts: true } } })) as { capabilities: { browserVersion: string } };
        (ff as { version: string }).version = s.capabilities.browserVersion;
        await ff.send('session.subscribe', { events: ['log.entryAdded'] });
        const tree = (await ff.send('browsingContext.getTree', { maxDepth: 0 })) as { contexts: { context: string }[] };
        ff.context = tree.contexts[0].context;
        await ff.send('browsingContext.setViewport', { context: ff.context, viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 } });
      } catch (e) {
        await ff.close();
        throw e;
      }
      return ff;
    } catch (e) {
      killNow();
      throw e;
    }
  }

  /** One BiDi command; rejects with Firefox's error and message. */
  send(method: string, params: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) return reject(new Error(`firefox: ${method}: BiDi connection is not open`));
      this.pending.set(id, { resolve, reject, method });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  private onMessage(text: string): void {
    const m = JSON.parse(text) as { type: string; id?: number; result?: unknown; error?: string; message?: string; method?: string; params?: Record<string, unknown> };
    if (m.type === 'event') {
      if (m.method === 'log.entryAdded' && m.params) this.log.push({ level: String(m.params.level), text: String(m.params.text), type: String(m.params.type) });
      return;
    }
    const p = m.id === undefined ? undefined : this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id!);
    if (m.type === 'success') p.resolve(m.result);
    else p.reject(new Error(`firefox: ${p.method}: ${m.error}: ${m.message}`));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Loads a page and waits for its load event. */
  async goto(url: string): Promise<void> {
    await this.send('browsingContext.navigate', { context: this.context, url, wait: 'complete' });
  }

  /**
   * Evaluates an expression in the page (a promise is awaited) and returns its value through JSON,
   * so the result is plain data. Throws with the page's exception text.
   */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.send('script.evaluate', {
      expression: `(async () => JSON.stringify(await (${expression})))()`,
      target: { context: this.context },
      awaitPromise: true,
      resultOwnership: 'none',
    })) as { type: 'success' | 'exception'; result?: { type: string; value?: string }; exceptionDetails?: { text: string } };
    if (r.type === 'exception') throw new Error(`firefox: page threw evaluating ${expression.slice(0, 80)}: ${r.exceptionDetails?.text}`);
    const v = r.result;
    return (v?.type === 'string' && v.value !== undefined ? JSON.parse(v.value) : undefined) as T;
  }

  /** Polls an expression until it is truthy. */
  async waitFor(expression: string, timeoutMs = 10_000, what = expression): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      if (await this.evaluate<boolean>(`Boolean(${expression})`)) return;
      if (Date.now() - t0 > timeoutMs) throw new Error(`firefox: timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * PNG of the viewport; of the whole document (`fullPage`); or of the whole first element matching
   * `selector`, even where it runs past the viewport.
   */
  async screenshot(opts: { selector?: string; fullPage?: boolean } = {}): Promise<Buffer> {
    const selector = opts.selector;
    const params: Record<string, unknown> = { context: this.context, origin: selector || opts.fullPage ? 'document' : 'viewport' };
    if (selector) {
      const box = await this.evaluate<{ x: number; y: number; width: number; height: number } | null>(
        `(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return null; const r = e.getBoundingClientRect(); return { x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height }; })()`,
      );
      if (!box) throw new Error(`firefox: screenshot: no element matches ${selector}`);
      params.clip = { type: 'box', ...box };
    }
    const r = (await this.send('browsingContext.captureScreenshot', params)) as { data: string };
    return Buffer.from(r.data, 'base64');
  }

  /** Ends the session, kills Firefox (whole process group) and removes the profile; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.ws.readyState === WebSocket.OPEN) {
        // Polite first: browser.close lets Firefox shut down its content processes itself.
        await Promise.race([this.send('browser.close', {}).catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
      }
      this.ws.terminate();
      const exited = this.proc.exitCode !== null || this.proc.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => this.proc.once('exit', () => r()));
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      killGroup(this.proc);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      // Firefox may still be writing to the profile for a moment after exit.
      for (let i = 0; i < 5; i++) {
        rmSync(this.profile, { recursive: true, force: true });
        if (!existsSync(this.profile)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    return this.closing;
  }
}

/** SIGKILL to Firefox's own process group (it was started detached, as the group's leader). */
function killGroup(proc: ChildProcess): void {
  if (proc.pid === undefined) return;
  try {
    process.kill(-proc.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
