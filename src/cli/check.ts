import { UserError } from '../core/errors.js';
import { readInputFile } from '../core/input-file.js';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { formatProblem, formatProblemAt, validatePipelineText } from '../config/load.js';
import { pipelineJsonSchema, type PipelineConfig } from '../config/schema.js';
import { probeVideo } from '../ingest/probe.js';
import { parseSource } from '../ingest/source-spec.js';
import { shapesOutsidePicture } from '../track/analytics.js';
import { defineCommand, parseCommandArgs } from './command.js';

export const spec = defineCommand({
  name: 'check',
  summary: 'validate pipeline files without running them',
  usage: '<pipeline.yaml...> | --schema',
  details:
    'Prints one line per problem as FILE:LINE: KEY.PATH: what was expected, and exits 1 if any file has a problem. A recording a source names that is not there (yet) is a warning: run refuses it until it is; one that is there but no video is a problem. A line, zone or calibration with points outside the picture of a recording a source names (its size read from the file; cameras are not connected to) is a warning too: it would count nothing.',
  options: {
    schema: { type: 'boolean', description: 'print the JSON Schema of pipeline files (for editor completion) and exit' },
    quiet: { type: 'boolean', short: 'q', description: 'print nothing for valid files' },
  },
});

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(spec, argv);
  if (!args) return 0;
  if (args.values.schema) {
    process.stdout.write(JSON.stringify(pipelineJsonSchema(), null, 2) + '\n');
    return 0;
  }
  if (args.positionals.length === 0) throw new UserError('xnorcam check: give at least one pipeline file (or --schema)', 2);
  let failed = 0;
  for (const file of args.positionals) {
    let text: string;
    try {
      text = readInputFile(file, 'a pipeline file', 'utf8');
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`); // one line naming the file; go on with the others
      failed++;
      continue;
    }
    const { config, problems, warnings } = validatePipelineText(text, { file, missingSourceFiles: 'warning' });
    for (const p of warnings) process.stderr.write(`warning: ${formatProblem(file, p)} (run refuses it until it is there)\n`);
    if (!config) {
      failed++;
      for (const p of problems) process.stderr.write(formatProblem(file, p) + '\n');
      continue;
    }
    const recordings = await checkRecordings(file, text, config);
    for (const warning of recordings.warnings) process.stderr.write(`warning: ${warning}\n`);
    if (recordings.problems.length) {
      failed++;
      for (const problem of recordings.problems) process.stderr.write(problem + '\n');
      continue;
    }
    if (!args.values.quiet) {
      const lines = config.sources.reduce((n, s) => n + s.lines.length, 0);
      const zones = config.sources.reduce((n, s) => n + s.zones.length, 0);
      process.stdout.write(`ok: ${file} (${config.sources.length} source${config.sources.length === 1 ? '' : 's'}, ${lines} line${lines === 1 ? '' : 's'}, ${zones} zone${zones === 1 ? '' : 's'})\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

/**
 * The recordings the sources name, read as run reads them (cameras are not connected to): one that is no video
 * (a text file, audio only) is a problem, since run refuses it; lines drawn for another camera or resolution
 * pass every other check and count nothing, the run's one warning buried among its progress lines, so a line,
 * zone or calibration point outside the recording's picture is a warning.
 */
async function checkRecordings(file: string, text: string, config: PipelineConfig): Promise<{ problems: string[]; warnings: string[] }> {
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const [i, source] of config.sources.entries()) {
    if (parseSource(source.url, { checkFile: false }).kind !== 'file') continue;
    const path = resolve(dirname(resolve(file)), source.url);
    // A recording not there (yet), or a folder, was warned of above.
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) continue;
    let picture: Awaited<ReturnType<typeof probeVideo>>;
    try {
      picture = await probeVideo(path);
    } catch (e) {
      problems.push(formatProblemAt(file, text, ['sources', i, 'url'], `${source.url}: ${(e as Error).message}`));
      continue;
    }
    if (!picture.width || !picture.height) continue;
    for (const { key, message } of shapesOutsidePicture(source, picture.width, picture.height)) warnings.push(formatProblemAt(file, text, ['sources', i, ...key], message));
  }
  return { problems, warnings };
}
