import type { MovementCounts } from './protocol.js';

/**
 * A source's turning movements as a traffic engineer reads them: one row per line vehicles came in by, one column
 * per line they left by, vehicles of every class in each cell (the classes on hover). A line to itself is no
 * movement (a U-turn is not counted), so its cell is a dash, not a 0 that would read as "counted, none".
 */
export function movementMatrix(movements: MovementCounts, lines: readonly string[]): HTMLTableElement {
  const named = new Set(lines);
  const all = [...lines, ...Object.entries(movements).flatMap(([from, tos]) => [from, ...Object.keys(tos)]).filter((l) => !named.has(l))];
  const order = [...new Set(all)];
  const table = cell('table', 'count-table movements');
  table.append(cell('caption', '', 'movements: from ↓ to →'));
  const head = cell('tr', '');
  head.append(cell('th', ''), ...order.map((to) => cell('th', 'to', to)));
  table.append(head);
  for (const from of order) {
    const tr = cell('tr', '');
    tr.dataset.from = from;
    tr.append(cell('th', 'from', from));
    for (const to of order) tr.append(from === to ? cell('td', 'n same', '–') : pairCell(from, to, movements[from]?.[to] ?? {}));
    table.append(tr);
  }
  return table;
}

function pairCell(from: string, to: string, byClass: Record<string, number>): HTMLElement {
  const classes = Object.entries(byClass).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const td = cell('td', 'n', String(classes.reduce((a, [, n]) => a + n, 0)));
  td.dataset.to = to;
  td.title = `${from} → ${to}: ${classes.length ? classes.map(([cls, n]) => `${cls} ${n}`).join(', ') : 'none'}`;
  return td;
}

function cell<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
