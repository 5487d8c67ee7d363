import { fileErrorReason, UserError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { fatal } from '../core/log.js';
import { holdEarlyHup } from './early-hup.js';

/**
 * Every command lives in its own module exporting `run(argv): Promise<number | void>` and `spec`.
 * Loaded lazily so `xnorcam detect` does not pay for the dashboard's imports.
 */
const commands: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number | void> }> }> = {
  // COMMANDS: one line per command, kept in alphabetical order.
  batch: { summary: 'detect, track and count on video files, every frame, in order', load: () => import('./batch.js') },
  check: { summary: 'validate pipeline files without running them', load: () => import('./check.js') },
  convert: { summary: 'pack a darknet cfg + weights into an .xnor model', load: () => import('./convert.js') },
  demo: { summary: 'play a generated traffic video as a live camera, with the dashboard (npm start)', load: () => import('./demo.js') },
  detect: { summary: 'detect objects in image files', load: () => import('./detect.js') },
  eval: { summary: 'measure a model\'s mAP on a YOLO-format dataset', load: () => import('./eval.js') },
  'mot-eval': { summary: 'score MOTChallenge tracks against ground truth (MOTA, IDF1)', load: () => import('./mot-eval.js') },
  run: { summary: 'run live cameras, streams or files with the dashboard', load: () => import('./run.js') },
  specialise: { summary: "train an XNOR model for one camera's view, taught by a float model", load: () => import('./specialise.js') },
  synth: { summary: 'generate traffic scenes with exact ground truth: YOLO datasets and videos', load: () => import('./synth.js') },
  track: { summary: 'track objects in a MOTChallenge detection file', load: () => import('./track.js') },
  train: { summary: 'train an XNOR detector on a YOLO-format dataset (PyTorch)', load: () => import('./train.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length), 4) + 2;
  return [
    'xnorcam — real-time traffic-camera analytics on a binary (XNOR) neural network',
    '',
    'Usage: xnorcam <command> [options]     (xnorcam <command> --help for details)',
    '',
    'Commands:',
    ...Object.entries(commands).map(([n, c]) => `  ${n.padEnd(width)}${c.summary}`),
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [first, ...more] = argv;
  // `xnorcam help run` is `xnorcam run --help`.
  const [name, rest] = first === 'help' && more.length ? [more[0], ['--help']] : [first, more];
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(pkg.version + '\n');
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) throw new UserError(`xnorcam: unknown command '${name}'${didYouMean(name, Object.keys(commands))} (see xnorcam --help)`, 2);
  // Other commands keep SIGHUP's default (a closed terminal ends them).
  if (name === 'run') holdEarlyHup();
  const mod = await cmd.load();
  try {
    const code = await mod.run(rest);
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    // An option's value refused after parsing (`--fps: 'abc' is not a number above 0`) reads like a parse error.
    if (e instanceof UserError && /^--[\w-]+:/.test(e.message)) throw new UserError(`xnorcam ${name}: ${e.message} (see xnorcam ${name} --help)`, e.exitCode);
    throw e;
  }
}

// `xnorcam detect ... | head`: the reader has gone, once, instead of dying on an unhandled write error.
// A command that stops on SIGINT (run, batch) is stopped as Ctrl-C would, so its files are flushed; the
// others write nothing but their standard output and leave with 0, as `head` took what it asked for (an
// exit as interrupted failed `set -o pipefail` scripts that only wanted the first lines).
let readerGone = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  // The terminal itself went away (an SSH session dropped; its SIGHUP only reloads `run`): nothing more can be
  // shown, and the cameras, files and dashboard go on. Rethrown, it ended run on a stack trace with the
  // interval in progress never written.
  if (e.code === 'EIO') return;
  if (e.code !== 'EPIPE') throw e;
  if (readerGone) return;
  readerGone = true;
  if (process.listenerCount('SIGINT') > 0) process.kill(process.pid, 'SIGINT');
  else process.exit(0);
});

// Log lines to a terminal that has gone: likewise lost, not fatal.
process.stderr.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EIO' && e.code !== 'EPIPE') throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UserError) {
      fatal(err.message);
      process.exitCode = err.exitCode;
    } else if (fileProblem(err)) {
      fatal(`${(err as NodeJS.ErrnoException).path}: ${fileProblem(err)}`);
      process.exitCode = 1;
    } else {
      // A bug, not bad input: keep one line for the user, the stack only when asked for.
      const e = err as Error;
      fatal(`internal error: ${e?.message ?? String(err)}`);
      if (process.env.XNORCAM_DEBUG) process.stderr.write(`${e?.stack}\n`);
      process.exitCode = 70;
    }
  },
);

/**
 * A file system error on a path the user chose (an output folder, a disk that filled up): their
 * problem to fix, worded as such, not an internal error.
 */
function fileProblem(err: unknown): string | undefined {
  if (!err || typeof err !== 'object' || !('path' in err) || !('code' in err)) return undefined;
  return fileErrorReason((err as NodeJS.ErrnoException).code);
}
