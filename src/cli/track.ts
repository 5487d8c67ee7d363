import { UserError } from '../core/errors.js';
import { refuseMissingOutputFolder, refuseOutputOverInput } from '../core/input-file.js';
import { createProgress } from '../core/progress.js';
import { formatMotTracks, readMotFile, writeMotFile } from '../track/mot-io.js';
import { trackMotDetections } from '../track/offline.js';
import { defaultTrackerConfig } from '../track/tracker.js';
import { numberOption, parseCommandArgs, type CommandSpec } from './command.js';

const d = defaultTrackerConfig;

export const spec = {
  name: 'track',
  summary: 'Track objects in a MOTChallenge detection file (offline)',
  usage: '<det.txt> --fps F [-o tracks.txt]',
  details: `Reads detections "frame,-1,x,y,w,h,score,..." (frames 1-based, x,y top-left, pixels) and writes
tracks "frame,id,x,y,w,h,score,-1,-1,-1" to -o or stdout. Time-based parameters are in seconds,
so they hold at any frame rate. Boxes of a track from before it was confirmed are kept, and gaps
up to --interpolate seconds are filled, since the whole file is known.`,
  options: {
    fps: { type: 'string', value: 'F', description: 'Frame rate of the sequence (required)' },
    output: { type: 'string', short: 'o', value: 'FILE', description: 'Write tracks here instead of stdout' },
    high: { type: 'string', value: 'S', description: 'Score of a confident box', default: String(d.highScore) },
    low: { type: 'string', value: 'S', description: 'Boxes below this score are ignored', default: String(d.lowScore) },
    new: { type: 'string', value: 'S', description: 'Minimum score to start a track', default: String(d.newTrackScore) },
    'lost-buffer': { type: 'string', value: 'SEC', description: 'How long a lost track can be recovered', default: String(d.lostBufferSec) },
    'min-hits': { type: 'string', value: 'N', description: 'Matches before a track is confirmed', default: String(d.minHits) },
    'min-confirm': { type: 'string', value: 'SEC', description: 'Time those matches must span', default: String(d.minConfirmSec) },
    'tentative-low': { type: 'boolean', description: 'New tracks may also take low-score boxes (for detectors with low scores)' },
    interpolate: { type: 'string', value: 'SEC', description: 'Fill gaps up to this long (0: off)', default: '0.2' },
    'raw-boxes': { type: 'boolean', description: 'Write the matched detection boxes instead of the filtered ones' },
  },
  positionals: { min: 1, max: 1 },
} satisfies CommandSpec<Record<string, import('./command.js').OptionSpec>>;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(spec, argv);
  if (!args) return 0;
  const v = args.values;
  if (v.fps === undefined) throw new UserError('xnorcam track: --fps is required (the frame rate of the detection file)', 2);
  const fps = numberOption('fps', v.fps as string, 0, { min: 0, above: true });
  const tracker = {
    highScore: numberOption('high', v.high as string, d.highScore, { min: 0, max: 1 }),
    lowScore: numberOption('low', v.low as string, d.lowScore, { min: 0, max: 1 }),
    newTrackScore: numberOption('new', v.new as string, d.newTrackScore, { min: 0, max: 1 }),
    lostBufferSec: numberOption('lost-buffer', v['lost-buffer'] as string, d.lostBufferSec, { min: 0 }),
    minHits: numberOption('min-hits', v['min-hits'] as string, d.minHits, { integer: true, min: 1 }),
    minConfirmSec: numberOption('min-confirm', v['min-confirm'] as string, d.minConfirmSec, { min: 0 }),
    tentativeLowScore: Boolean(v['tentative-low']),
  };
  const interpolateSec = numberOption('interpolate', v.interpolate as string, 0.2, { min: 0 });
  if (tracker.lowScore > tracker.highScore) {
    const given = (flag: 'low' | 'high') => (v[flag] === String(flag === 'low' ? d.lowScore : d.highScore) ? ' (the default)' : '');
    throw new UserError(`--low ${tracker.lowScore}${given('low')} is above --high ${tracker.highScore}${given('high')}: low-score boxes are those below --high`, 2);
  }
  if (v.output) {
    refuseMissingOutputFolder(v.output as string);
    refuseOutputOverInput(v.output as string, [args.positionals[0]]);
  }
  const dets = readMotFile(args.positionals[0]);
  // Created at the first frame, when the tracker knows how many frames the file spans.
  let progress: ReturnType<typeof createProgress> | undefined;
  const onFrame = (n: number, total: number) => {
    progress ??= createProgress('track', total, { unit: 'frames' });
    progress.update(n);
  };
  const rows = trackMotDetections(dets, { fps, tracker, interpolateSec, filteredBoxes: !v['raw-boxes'], onFrame });
  const ids = new Set(rows.map((r) => r.id)).size;
  const summary = `track: ${dets.length} detections → ${ids} tracks, ${rows.length} boxes`;
  if (v.output) {
    writeMotFile(v.output as string, rows);
    progress?.finish(`${summary} → ${v.output}`);
  } else {
    process.stdout.write(formatMotTracks(rows));
    progress?.finish(summary);
  }
  return 0;
}
