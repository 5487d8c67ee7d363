import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors.js';
import { logger } from '../core/log.js';
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
  usage: '[--port PORT] [--host HOST] [--token TOKEN] [--allowed-host NAME] [--regenerate] [--duration S] [--stats S]',
  details: `What \`npm start\` runs. On first use it renders a demo traffic video into .cache/demo/ (with
\`xnorcam synth video\`, or an ffmpeg test pattern when the synthesizer is not available), then runs
pipelines/demo.yaml: the video looping as a live camera, the bundled model, a counting line, and the
dashboard at the printed URL. Ctrl-C stops it.`,
  options: {
    host: { type: 'string', value: 'HOST', description: 'Dashboard address', default: '127.0.0.1' },
    port: { type: 'string', value: 'PORT', description: 'Dashboard port (0 = any free port)', default: '8080' },
    // Opened from another machine (--host 0.0.0.0), the dashboard wants a token or its name allowed.
    token: runSpec.options.token,
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
  if (v.regenerate || !existsSync(demoVideo)) ensureDemoVideo();
  const statsSec = numberOption('stats', v.stats, 10, { min: 0 });
  const durationSec = v.duration ? numberOption('duration', v.duration, 0, { min: 0, above: true }) : undefined;
  const setup = setupFromArgs([demoPipeline], { host: v.host, port: v.port, token: v.token, 'allowed-host': v['allowed-host'] });
  return runLive(setup, { statsSec, durationSec, banner: 'xnorcam demo: open the dashboard at' });
}

/** Renders the demo clip once; written to a temporary name first so an interrupted render is not reused. */
function ensureDemoVideo(): void {
  mkdirSync(dirname(demoVideo), { recursive: true });
  const partial = demoVideo.replace(/\.mp4$/, '.partial.mp4');
  process.stderr.write(`xnorcam demo: rendering the demo traffic video (first run only) → ${relative(process.cwd(), demoVideo)}\n`);
  const bin = fileURLToPath(new URL('../../bin/xnorcam.js', import.meta.url));
  // Its progress bar goes straight to the terminal. 20 s at 960x540 renders in well under a minute on
  // two cores and loops seamlessly enough; seed and size are fixed because pipelines/demo.yaml's
  // counting line and calibration are this clip's ground truth (see its .truth.json).
  const synth = spawnSync(process.execPath, [bin, 'synth', 'video', '--out', partial, '--seconds', '20', '--size', '960x540', '--seed', '7'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (synth.status === 0 && existsSync(partial)) {
    renameSync(partial, demoVideo);
    // The renderer's ground-truth files sit next to the video; give them the final name too.
    const dir = dirname(demoVideo);
    for (const f of readdirSync(dir)) if (f.startsWith('traffic-demo.partial.')) renameSync(join(dir, f), join(dir, f.replace('.partial.', '.')));
    return;
  }
  logger.warn('synthetic traffic renderer failed, using an ffmpeg test pattern for the demo video', { exit: synth.status });
  const ff = spawnSync(
    ffmpegBinary().path,
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=960x540:rate=25', '-t', '20', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', partial],
    { encoding: 'utf8' },
  );
  if (ff.status !== 0) throw new UserError(`cannot render the demo video: ${ff.stderr.trim().split('\n').pop()}`);
  renameSync(partial, demoVideo);
}
