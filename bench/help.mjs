// `--help` for the benchmark scripts: prints the comment block that opens the calling script (its
// usage and what it measures) and exits, so each script documents itself in one place.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function helpIfAsked(scriptUrl, argv = process.argv.slice(2)) {
  if (!argv.includes('--help') && !argv.includes('-h')) return;
  const lines = readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n');
  const block = [];
  for (const line of lines) {
    if (line.startsWith('#!')) continue;
    if (!line.startsWith('//')) break;
    block.push(line.replace(/^\/\/ ?/, ''));
  }
  process.stdout.write(block.join('\n') + '\n');
  process.exit(0);
}
