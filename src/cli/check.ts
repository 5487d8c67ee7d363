import { UserError } from '../core/errors.js';
import { readInputFile } from '../core/input-file.js';
import { formatProblem, validatePipelineText } from '../config/load.js';
import { pipelineJsonSchema } from '../config/schema.js';
import { defineCommand, parseCommandArgs } from './command.js';

export const spec = defineCommand({
  name: 'check',
  summary: 'validate pipeline files without running them',
  usage: '<pipeline.yaml...> | --schema',
  details: 'Prints one line per problem as FILE:LINE: KEY.PATH: what was expected, and exits 1 if any file has a problem. A recording a source names that is not there (yet) is a warning: run refuses it until it is.',
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
    if (!args.values.quiet) {
      const lines = config.sources.reduce((n, s) => n + s.lines.length, 0);
      const zones = config.sources.reduce((n, s) => n + s.zones.length, 0);
      process.stdout.write(`ok: ${file} (${config.sources.length} source${config.sources.length === 1 ? '' : 's'}, ${lines} line${lines === 1 ? '' : 's'}, ${zones} zone${zones === 1 ? '' : 's'})\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}
