import type { MovementCounts } from './protocol.js';
import { countLabel } from './interval-label.js';

/** Line names this long or shorter (north, east, kerb) head their columns themselves; longer ones by a letter. */
const SHORT_NAME = 6;

/**
 * A source's turning movements as a traffic engineer reads them: one row per line vehicles came in by, one column
 * per line they left by, vehicles of every class in each cell (the classes on hover). A line to itself is no
 * movement (a U-turn is not counted), so its cell is a dash, not a 0 that would read as "counted, none".
 * Long line names (near-kerb-southern-approach-main-street) do not size it: the columns are then lettered A, B…,
 * each row says its letter before its name, cut short, and every name shows whole on hover. Headed by the names,
 * four such columns made the table 1000 px wide and the camera's picture a 30 px stamp.
 */
export function movementMatrix(movements: MovementCounts, lines: readonly string[]): HTMLTableElement {
  const named = new Set(lines);
  const all = [...lines, ...Object.entries(movements).flatMap(([from, tos]) => [from, ...Object.keys(tos)]).filter((l) => !named.has(l))];
  const order = [...new Set(all)];
  const lettered = order.some((l) => l.length > SHORT_NAME);
  const key = (i: number) => (lettered ? letter(i) : order[i]);
  const table = cell('table', 'count-table movements');
  table.append(cell('caption', '', 'movements: from ↓ to →'));
  const head = cell('tr', '');
  head.append(
    cell('td', ''),
    ...order.map((to, i) => {
      const th = cell('th', 'to', key(i));
      th.scope = 'col';
      th.title = to;
      return th;
    }),
  );
  table.append(head);
  order.forEach((from, i) => {
    const tr = cell('tr', '');
    tr.dataset.from = from;
    const th = cell('th', 'from');
    th.scope = 'row';
    if (lettered) th.append(cell('span', 'key', key(i)), ' ');
    th.append(lineName(from));
    tr.append(th);
    for (const to of order) tr.append(from === to ? cell('td', 'n same', '–') : pairCell(from, to, movements[from]?.[to] ?? {}));
    table.append(tr);
  });
  return table;
}

/** A line's or zone's name in a counts table: cut short when long (style.css, .name), whole on hover. */
export function lineName(name: string): HTMLElement {
  const span = cell('span', 'name', name);
  span.title = name;
  return span;
}

/** A, B, … Z, then AA, AB…: a junction has a handful of lines, but a column is never left without one. */
function letter(i: number): string {
  const a = String.fromCharCode(65 + (i % 26));
  return i < 26 ? a : letter(Math.floor(i / 26) - 1) + a;
}

function pairCell(from: string, to: string, byClass: Record<string, number>): HTMLElement {
  const classes = Object.entries(byClass).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const td = cell('td', 'n', countLabel(classes.reduce((a, [, n]) => a + n, 0)));
  td.dataset.to = to;
  td.title = `${from} → ${to}: ${classes.length ? classes.map(([cls, n]) => `${cls} ${countLabel(n)}`).join(', ') : 'none'}`;
  return td;
}

function cell<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
