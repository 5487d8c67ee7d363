import { didYouMean } from '../core/suggest.js';

/**
 * A `lavfi:` source is one of ffmpeg's generated test pictures, never a filter graph: a graph can write files
 * (`metadata=mode=print:file=…` empties the file), read them into the picture (`drawtext=textfile=…`,
 * `movie=…`), and whoever may edit a pipeline file or reach the command line is not meant to do either.
 */
export const LAVFI_TEST_SOURCES = [
  'testsrc',
  'testsrc2',
  'smptebars',
  'smptehdbars',
  'rgbtestsrc',
  'yuvtestsrc',
  'color',
  'mandelbrot',
  'life',
  'cellauto',
  'pal75bars',
  'pal100bars',
  'allrgb',
  'allyuv',
] as const;

// life and cellauto take their first grid from a file.
const FILE_OPTIONS = new Set(['filename', 'f']);
// What a value needs (320x240, 30000/1001, 0.5, -0.743, red@0.5, #ff8000, S23/B3) and nothing ffmpeg reads as
// graph syntax (, ; [ ] quotes, backslash escapes) or spaces.
const OPTION = /^([a-z][a-z0-9_]*)=([A-Za-z0-9._+\-/@#]+)$/;
const GRAPH_SYNTAX = /[^A-Za-z0-9._+\-/@#=:]/;
const EXAMPLE = 'e.g. lavfi:testsrc2=size=640x360:rate=25';

/** Why `graph` (what follows `lavfi:`) is not one test source with key=value options, or undefined. */
export function lavfiSourceProblem(graph: string): string | undefined {
  if (!graph) return `no test source given (${EXAMPLE})`;
  const syntax = GRAPH_SYNTAX.exec(graph);
  if (syntax) return `${syntax[0] === "'" ? `"'"` : `'${syntax[0]}'`} is not allowed: a lavfi source is one ffmpeg test source with key=value options joined by ':', not a filter graph (${EXAMPLE})`;
  const eq = graph.indexOf('=');
  const filter = eq < 0 ? graph : graph.slice(0, eq);
  if (!(LAVFI_TEST_SOURCES as readonly string[]).includes(filter)) {
    return `'${filter}' is not a test source${didYouMean(filter, LAVFI_TEST_SOURCES)} (lavfi: takes one of ${LAVFI_TEST_SOURCES.join(', ')})`;
  }
  if (eq < 0) return undefined;
  for (const option of graph.slice(eq + 1).split(':')) {
    const m = OPTION.exec(option);
    if (!m) return `option '${option}' of ${filter} is not key=value (e.g. size=640x360)`;
    if (FILE_OPTIONS.has(m[1])) return `option '${m[1]}' of ${filter} reads a file, which a source may not`;
  }
  return undefined;
}
