import { UserError } from '../core/errors.js';
import { checkTrackIds, readMotFile } from '../track/mot-io.js';
import { evaluateMot } from '../track/mot-metrics.js';
import { numberOption, parseCommandArgs, type CommandSpec } from './command.js';

export const spec = {
  name: 'mot-eval',
  summary: 'Score MOTChallenge tracks against ground truth (CLEAR-MOT, IDF1)',
  usage: '<gt.txt> <tracks.txt>',
  details: `Prints JSON: mota, idf1, num_switches, num_false_positives, num_misses, mostly_tracked,
partially_tracked, mostly_lost, num_fragmentations, motp (mean 1 − IoU of matches), precision,
recall and the raw counts, computed as py-motmetrics does (ground-truth rows whose column 7,
MOTChallenge's "consider" flag, is below 1 are ignored; a match needs IoU ≥ --iou). Both files
must give each object one integer id per frame.`,
  options: {
    iou: { type: 'string', value: 'T', description: 'Minimum IoU of a match', default: '0.5' },
  },
  positionals: { min: 2, max: 2 },
} satisfies CommandSpec<Record<string, import('./command.js').OptionSpec>>;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(spec, argv);
  if (!args) return 0;
  const iouThreshold = numberOption('iou', args.values.iou as string | undefined, 0.5, { min: 0, above: true, max: 1 });
  const [gtFile, trackFile] = args.positionals;
  const gt = readMotFile(gtFile);
  const tracks = readMotFile(trackFile);
  checkTrackIds(gt, gtFile);
  checkTrackIds(tracks, trackFile);
  // A tracker's output as ground truth has scores, not 0/1 flags, in column 7: nothing would be left to score.
  if (gt.length > 0 && !gt.some((r) => r.score >= 1)) {
    throw new UserError(`${gtFile}: no ground-truth row has column 7 (MOTChallenge's "consider" flag) at 1: a tracker's output rather than ground truth?`);
  }
  const m = evaluateMot(gt, tracks, { iouThreshold });
  // Headline figures first, then the rest of the counts.
  const { mota, idf1, num_switches, num_false_positives, num_misses, mostly_tracked, partially_tracked, mostly_lost, num_fragmentations, motp, precision, recall, ...rest } = m;
  const out = { mota, idf1, num_switches, num_false_positives, num_misses, mostly_tracked, partially_tracked, mostly_lost, num_fragmentations, motp, precision, recall, ...rest };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  return 0;
}
