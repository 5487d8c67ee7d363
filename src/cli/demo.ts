import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors.js';
import { fatal, logger } from '../core/log.js';
import { defaultModelPath } from '../detect/default-model.js';
import { ffmpegBinary } from '../ingest/ffmpeg-binary.js';
import { numberOption, parseCommandArgs, type CommandSpec, type OptionSpec } from './command.js';
import { runLive, setupFromArgs, spec as runSpec } from './run.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const demoPipeline = join(repo, 'pipelines', 'demo.yaml');
const demoVideo = join(repo, '.cache', 'demo', 'traffic-demo.mp4');

export const spec = {
  name: 'demo',
  summary: 'Play a generated traffic video as a live camera with the bundled model and the dashboard',
  usage: '[--port PORT] [--host HOST] [--token TOKEN] [--allow-no-token] [--allowed-host NAME] [--regenerate] [--duration S] [--stats S]',
  details: `What \`npm start\` runs. On first use it renders a demo traffic video into .cache/demo/ (with
\`xnorcam synth video\`, or an ffmpeg test pattern when the synthesizer is not available), then runs
pipelines/demo.yaml: the video looping as a live camera, the bundled model, a counting line, and the
dashboard at the printed URL. Ctrl-C stops it; during the first-run render it stops the render too (its
renderer and encoder), keeps nothing of it, and exits 130: the next start renders the video again.`,
  options: {
    host: { type: 'string', value: 'HOST', description: 'Dashboard address', default: '127.0.0.1' },
    port: { type: 'string', value: 'PORT', description: 'Dashboard port (0 = any free port)', default: '8080' },
    // Opened from another machine (--host 0.0.0.0), the dashboard wants a token (or --allow-no-token), or its name allowed.
    token: runSpec.options.token,
    'allow-no-token': runSpec.options['allow-no-token'],
    'allowed-host': runSpec.options['allowed-host'],
    regenerate: { type: 'boolean', description: 'Render the demo video again' },
    stats: { type: 'string', value: 'SECONDS', description: 'Print per-source stats this often (0 = never)', default: '10' },
    duration: { type: 'string', value: 'SECONDS', description: 'Stop after this long (default: until Ctrl-C)' },
  },
  positionals: { max: 0 },
} satisfies CommandSpec<Record<string, OptionSpec>>;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(spec, argv);
  if (!args) return 0;
  const v = args.values;
  const model = defaultModelPath();
  if (!existsSync(model)) {
    throw new UserError(`the bundled model ${relative(process.cwd(), model) || model} is missing, so the demo cannot run (build it with the model pipeline, see docs)`);
  }
  if (v.regenerate || !existsSync(demoVideo)) {
    const sig = await ensureDemoVideo();
    if (sig) return sig === 'SIGINT' ? 130 : 143;
  }
  const statsSec = numberOption('stats', v.stats, 10, { min: 0 });
  const durationSec = v.duration ? numberOption('duration', v.duration, 0, { min: 0, above: true }) : undefined;
  const setup = setupFromArgs([demoPipeline], { host: v.host, port: v.port, token: v.token, 'allow-no-token': v['allow-no-token'], 'allowed-host': v['allowed-host'] });
  return runLive(setup, { statsSec, durationSec, banner: 'xnorcam demo: open the dashboard at' });
}

/**
 * Renders the demo clip once; written to a temporary name first so an interrupted render is not reused. A signal
 * while it renders stops the renderer (and its encoder) and removes the temporary files: the signal, or undefined
 * once the clip is there.
 */
async function ensureDemoVideo(): Promise<NodeJS.Signals | undefined> {
  mkdirSync(dirname(demoVideo), { recursive: true });
  const partial = demoVideo.replace(/\.mp4$/, '.partial.mp4');
  process.stderr.write(`xnorcam demo: rendering the demo traffic video (first run only) → ${relative(process.cwd(), demoVideo)}\n`);
  const bin = fileURLToPath(new URL('../../bin/xnorcam.js', import.meta.url));
  // Its progress bar goes straight to the terminal. 20 s at 960x540 renders in well under a minute on
  // two cores and loops seamlessly enough; seed and size are fixed because pipelines/demo.yaml's
  // counting line and calibration are this clip's ground truth (see its .truth.json).
  const synth = await renderChild(process.execPath, [bin, 'synth', 'video', '--out', partial, '--seconds', '20', '--size', '960x540', '--seed', '7'], 'inherit');
  if (synth.signal) return stopped(synth.signal);
  if (synth.status === 0 && existsSync(partial)) {
    renameSync(partial, demoVideo);
    // The renderer's ground-truth files sit next to the video; give them the final name too.
    for (const f of partialFiles()) renameSync(f, f.replace('.partial.', '.'));
    return undefined;
  }
  logger.warn('synthetic traffic renderer failed, using an ffmpeg test pattern for the demo video', { exit: synth.status });
  const ff = await renderChild(
    ffmpegBinary().path,
    ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=960x540:rate=25', '-t', '20', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', partial],
    'pipe',
  );
  if (ff.signal) return stopped(ff.signal);
  if (ff.status !== 0) throw new UserError(`cannot render the demo video: ${ff.stderr.trim().split('\n').pop()}`);
  renameSync(partial, demoVideo);
  return undefined;
}

/** The render's temporary files: the video and the renderer's ground truth beside it. */
function partialFiles(): string[] {
  const dir = dirname(demoVideo);
  return readdirSync(dir)
    .filter((f) => f.startsWith('traffic-demo.partial.'))
    .map((f) => join(dir, f));
}

/** A render stopped by `sig`: what it left is removed (a next start renders afresh), and the demo says so. */
function stopped(sig: NodeJS.Signals): NodeJS.Signals {
  for (const f of partialFiles()) rmSync(f, { force: true });
  fatal(`interrupted by ${sig} while rendering the demo video: nothing kept; the next xnorcam demo renders it again`);
  return sig;
}

/**
 * Runs a renderer in its own process group until it exits. Until then a SIGINT or SIGTERM to the demo is
 * passed on to the whole group (the renderer's own ffmpeg included): spawnSync let the demo die of it and
 * left them rendering on, orphaned.
 */
function renderChild(cmd: string, args: string[], stderr: 'inherit' | 'pipe'): Promise<{ status: number | null; signal?: NodeJS.Signals; stderr: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', stderr], detached: true });
  let text = '';
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  let signal: NodeJS.Signals | undefined;
  const forward = (sig: NodeJS.Signals) => {
    signal ??= sig;
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve, reject) => {
    const done = () => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
    };
    child.on('error', (e) => (done(), reject(e)));
    child.on('close', (status) => {
      done();
      const result = { status, ...(signal ? { signal } : {}), stderr: text };
      // Stopped: its encoder may still be finishing the file it was writing (and with +faststart writes it again
      // by name), so what it leaves is removed only once the whole group has gone.
      if (signal) void groupGone(child.pid!).then(() => resolve(result));
      else resolve(result);
    });
  });
}

/** Resolves once no process of group `pgid` is left, or after 5 s (a zombie no one reaps never leaves). */
async function groupGone(pgid: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
