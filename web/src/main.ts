import { CameraTile } from './camera-tile.js';
import { Connection, type Refusal } from './connection.js';
import type { ServerMessage, SourceInfo } from './protocol.js';
import { PageStats } from './stats.js';

/**
 * The xnorcam dashboard: one tile per camera, fed by one WebSocket (/ws on the page's own host).
 * Click a tile (or Tab to its name and press Enter) to enlarge it (again, or Esc, to go back); P pauses the pictures; D
 * shows the detector's raw boxes as well as the confirmed tracks.
 */
declare global {
  interface Window {
    __xnorcamStats: PageStats;
    __xnorcam: { pause(): void; resume(): void; paused(): boolean; showDetections(on: boolean): void };
  }
}

const stats = new PageStats();
window.__xnorcamStats = stats;
const grid = document.getElementById('grid')!;
const connEl = document.getElementById('connection')!;
const latencyEl = document.getElementById('latency')!;
const clockEl = document.getElementById('clock')!;
const pauseBtn = document.getElementById('pause') as HTMLButtonElement;
const emptyEl = document.getElementById('empty')!;
const alertEl = document.getElementById('alert')!;
const headerEl = document.querySelector('header.top') as HTMLElement;
const tiles = new Map<string, CameraTile>();
let paused = false;
let showDetections = false;

// Relative to the page, so the dashboard also works behind a proxy that serves it under a path prefix.
const wsUrl = new URL('ws', location.href);
wsUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
wsUrl.search = '';
// The same path as a plain GET, naming the origin the browser sends on the upgrade (see Connection).
const diagnoseUrl = new URL('ws', location.href);
diagnoseUrl.search = new URLSearchParams({ origin: location.origin }).toString();
const REFUSALS: Record<Refusal, { badge: string; text: string }> = {
  token: {
    badge: 'token not valid',
    text:
      'The access token is no longer valid (the server was probably restarted with a new token). ' +
      'To get in again, open the dashboard address with ?token=<token>, the token now set (--token, XNORCAM_DASHBOARD_TOKEN or outputs.dashboard.token).',
  },
  'cross-origin': {
    badge: 'refused',
    text: "Live view refused by the server: cross-origin; check the proxy's Host header (it must forward the host the browser asked for, see docs/dashboard.md).",
  },
};
const conn = new Connection(wsUrl.href, diagnoseUrl.href, {
  onFrame(header, jpeg) {
    stats.framesReceived++;
    tile(header.source).onFrame(header, jpeg);
  },
  onMessage(m: ServerMessage) {
    switch (m.type) {
      case 'hello':
      case 'sources':
        syncSources(m.sources, m.type === 'sources' ? m.droppedForClient : {});
        break;
      case 'counts':
        tile(m.counts.source).setCounts(m.counts);
        // More lines or longer numbers may need another layout.
        layoutGrid();
        break;
      case 'error':
        stats.errors.push({ code: m.code, message: m.message });
        console.warn(`xnorcam server: ${m.code}: ${m.message}`);
        break;
    }
  },
  onState(connected) {
    stats.connected = connected;
    stats.connects = conn.connects;
    renderConnection(connected);
    for (const t of tiles.values()) t.setOffline(!connected);
  },
  onRefused(why, detail) {
    stats.refused = why;
    const r = REFUSALS[why];
    connEl.textContent = r.badge;
    connEl.dataset.state = 'failed';
    alertEl.textContent = r.text;
    alertEl.title = detail;
    alertEl.hidden = false;
    emptyEl.hidden = true;
    for (const t of tiles.values()) t.setOffline(true);
  },
});

/** The header's state: frozen pictures under a LIVE badge would pass for a live, empty road. */
function renderConnection(connected: boolean): void {
  if (conn.refused !== null) return; // onRefused's words stand: retrying cannot change them
  const [text, state] = !connected ? ['reconnecting…', 'reconnecting'] : paused ? ['paused', 'paused'] : ['live', 'running'];
  connEl.textContent = text;
  connEl.dataset.state = state;
}

function clock(): number {
  return Date.now() + conn.clockOffsetMs;
}

function tile(name: string): CameraTile {
  let t = tiles.get(name);
  if (!t) {
    t = new CameraTile(name, stats, clock, { paused: () => paused, showDetections: () => showDetections });
    const tileRef = t;
    // Anywhere on the tile with a pointer; from a keyboard (a wall screen often is driven from one), Tab to the
    // camera's name, its button, and Enter or Space: the button's click comes here.
    t.root.addEventListener('click', () => toggleEnlarged(tileRef));
    t.enlargeButton.addEventListener('keydown', (e) => {
      // Enter held down repeats its click: one press, one toggle (each would also ask the server for other frames).
      if (e.key === 'Enter' && e.repeat) e.preventDefault();
    });
    // Behind an enlarged camera, out of reach as the others are.
    t.root.inert = enlarged() !== null;
    tiles.set(name, t);
    grid.appendChild(t.root);
    emptyEl.hidden = true;
    layoutGrid();
  }
  return t;
}

/** Padding and border of a tile, and the gaps inside it (style.css), in rem. */
const TILE_PAD_REM = 1.45;
const TILE_GAP_REM = 0.5;
const SIDE_GAP_REM = 0.8;
/** The figures' line, in rem. */
const FIGURES_LINE_REM = 2.3;
/** How small the counts may get (× their full size) before the picture has to give way instead. */
const COUNTS_SCALES = [1, 0.9, 0.8, 0.7, 0.6];
const MIN_COUNTS_SCALE = 0.6;
/** A picture narrower than this is not worth larger counts: the counts shrink first, down to 0.6. */
const MIN_PICTURE_PX = 160;
/**
 * Tiles narrower than this (inside their padding) are not read: the name, state and a 4-digit total only just fit side by
 * side at their smallest (style.css), the model id and the chart not at all. Fewer columns then, where the counts
 * fit as well: four across a laptop at 150 % zoom (911 px) were 189 px inside.
 */
const MIN_TILE_REM = 14;
/** How much smaller than layoutGrid's estimate the counts had to be to fit (fitTiles); kept until the window or the cameras change. */
let squeeze = 0;
/** The fewest columns a camera's name was seen cut short at (fitTiles): fewer are preferred, where the counts fit. Kept as squeeze is. */
let namesCutAt = Infinity;
let squeezedFor = '';
/** A fitTiles waiting for the next frame, asked for by an unchanged layout. */
let refitPending = false;
/** The figures' width as last seen: hidden (.no-figures) they measure 0, and were then thought to fit anywhere. */
let figuresSeenW: number | null = null;

/** What the tiles need besides their pictures, measured on the page: their counts (rem at full size), head and figures. */
function tileNeeds(rem: number): { countsW: number; countsH: number; head: number; figuresW: number } {
  let countsW = 0, countsH = 0, head = 2.8 * rem, figuresW = 0;
  for (const t of tiles.values()) {
    const c = t.countsSize();
    countsW = Math.max(countsW, c.w * rem);
    countsH = Math.max(countsH, c.h * rem);
  }
  const first = grid.querySelector('section.camera:not(.enlarged)');
  const h = first?.querySelector('.camera-head') as HTMLElement | null;
  if (h?.offsetHeight) head = h.offsetHeight;
  const figures = first ? [...first.querySelectorAll('.figure')] as HTMLElement[] : [];
  // Hidden, their width is the one last seen: measured as 0 + gaps, they were shown again, found to cut the counts
  // and hidden again, every second (four cameras at 1366×768).
  if (figures.some((f) => f.offsetWidth > 0)) figuresSeenW = figures.reduce((a, f) => a + f.offsetWidth + 1.4 * rem, 0);
  figuresW = figuresSeenW ?? 26 * rem;
  return { countsW, countsH, head, figuresW };
}

/**
 * Picks the columns, figures and counts under or beside the pictures, and the counts' size (--counts-scale)
 * so that every tile is in the window with its counts whole: the picture shrinks first, then the counts, to
 * 0.6 of their size; of what fits, the layout that shows the pictures largest.
 */
function layoutGrid(): void {
  const n = tiles.size;
  const first = tiles.values().next().value;
  const aspect = first ? first.aspect() : 16 / 9;
  const cs = getComputedStyle(grid);
  const px = (v: string) => parseFloat(v) || 0;
  const gap = px(cs.columnGap);
  const width = grid.clientWidth - px(cs.paddingLeft) - px(cs.paddingRight);
  const height = grid.clientHeight - px(cs.paddingTop) - px(cs.paddingBottom);
  const rem = px(getComputedStyle(document.documentElement).fontSize) || 16;
  const need = tileNeeds(rem);
  // Ranked: counts whole, names whole and tiles wide enough to read, a picture worth looking at, counts larger (while
  // the picture is worth it), figures shown (beside a large picture), then the larger picture.
  const rank = (c: { cols: number; picture: number; scale: number; figures: boolean; tileW: number }) => {
    const worth = c.picture >= MIN_PICTURE_PX ? 1 : 0;
    // The figures (fps, latency…) only beside a picture that is large already: a small one needs the room more.
    return [c.picture >= 0 ? 1 : 0, c.cols < namesCutAt ? 1 : 0, c.tileW >= MIN_TILE_REM * rem ? 1 : 0, worth, worth ? c.scale : 0, c.figures && c.picture >= 2 * MIN_PICTURE_PX ? 1 : 0, c.picture];
  };
  let best = { cols: 1, rows: Math.max(1, n), side: false, scale: MIN_COUNTS_SCALE, figures: true, picture: -Infinity, tileW: 0 };
  const better = (c: typeof best) => {
    const a = rank(c), b = rank(best);
    for (let i = 0; i < a.length; i++) {
      // Ties (a pixel) go to fewer columns and to figures under the picture.
      const margin = i === a.length - 1 ? 1 : 0;
      if (a[i] > b[i] + margin) return true;
      if (a[i] < b[i] - margin) return false;
    }
    return false;
  };
  for (const scale of COUNTS_SCALES) {
    const cw = need.countsW * scale, ch = need.countsH * scale;
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const w = (width - gap * (cols - 1)) / cols - TILE_PAD_REM * rem;
      const h = (height - gap * (rows - 1)) / rows - TILE_PAD_REM * rem - need.head - TILE_GAP_REM * rem;
      for (const figures of [true, false]) {
        const line = figures ? FIGURES_LINE_REM * rem : 0;
        // Stacked: the figures wrap in the tile's width, the counts under them. Counts that do not fit give a
        // negative picture: how far they are from fitting.
        const stackedH = h - line * Math.ceil(need.figuresW / Math.max(w, 1)) - ch - 2 * TILE_GAP_REM * rem;
        const stacked = cw <= w ? Math.min(w, stackedH * aspect) : Math.min(w - cw, stackedH * aspect);
        // Side by side: the column is as wide as the counts, the figures wrap in it, in the tile's second row
        // (a gap above it and one under it, as the figures leave their row's gaps there when they are not shown).
        const colW = Math.max(cw, 8 * rem);
        const sideSpare = h - TILE_GAP_REM * rem - ch - line * Math.ceil(need.figuresW / colW);
        const side = sideSpare >= 0 ? Math.min(w - colW - SIDE_GAP_REM * rem, h * aspect) : sideSpare * aspect;
        const c1 = { cols, rows, side: false, scale, figures, picture: stacked, tileW: w };
        if (better(c1)) best = c1;
        const c2 = { cols, rows, side: true, scale, figures, picture: side, tileW: w };
        if (better(c2)) best = c2;
      }
    }
  }
  grid.classList.toggle('no-figures', !best.figures);
  const key = `${n} ${width}x${height}`;
  if (key !== squeezedFor) {
    squeeze = 0;
    namesCutAt = Infinity;
  }
  squeezedFor = key;
  applyLayout(best.cols, best.rows, best.side, Math.max(MIN_COUNTS_SCALE, Math.round((best.scale - squeeze) * 100) / 100));
}

function applyLayout(cols: number, rows: number, side: boolean, scale: number): void {
  const same =
    grid.style.getPropertyValue('--cols') === String(cols) &&
    grid.style.getPropertyValue('--rows') === String(rows) &&
    grid.classList.contains('side') === side &&
    grid.style.getPropertyValue('--counts-scale') === String(scale);
  if (same) {
    // The tiles change under an unchanged layout (a head's total grows, its model id comes or goes, the figures
    // hide): looked at again, a name cut short since is found (it stayed cut, three across a zoomed laptop).
    if (!refitPending) {
      refitPending = true;
      requestAnimationFrame(() => {
        refitPending = false;
        fitTiles();
      });
    }
    return;
  }
  grid.style.setProperty('--cols', String(cols));
  grid.style.setProperty('--rows', String(rows));
  grid.style.setProperty('--counts-scale', String(scale));
  grid.classList.toggle('side', side);
  requestAnimationFrame(() => {
    tiles.forEach((t) => t.relayout());
    fitTiles();
  });
}

/**
 * layoutGrid's sizes are estimates (wrapped figures, a long line name): where counts still do not fit
 * whole, they are made smaller, a step a frame, down to MIN_COUNTS_SCALE. Where they fit and a camera's name is cut
 * short (three across a laptop at 150 % zoom cut crossroads-north), fewer columns are tried, where the counts fit too.
 */
function fitTiles(): void {
  if (enlarged()) return;
  const all = [...tiles.values()];
  if (!all.every((t) => t.countsFit())) {
    const scale = parseFloat(grid.style.getPropertyValue('--counts-scale')) || 1;
    if (scale <= MIN_COUNTS_SCALE) return;
    squeeze += 0.05;
    layoutGrid();
    return;
  }
  const cols = parseInt(grid.style.getPropertyValue('--cols'), 10) || 1;
  if (cols > 1 && cols < namesCutAt && all.some((t) => t.nameCut())) {
    namesCutAt = cols;
    layoutGrid();
  }
}

function syncSources(sources: SourceInfo[], dropped: Record<string, number>): void {
  for (const s of sources) tile(s.name).setInfo(s, dropped[s.name]);
  // A source the pipeline no longer reports is removed from the grid.
  const names = new Set(sources.map((s) => s.name));
  for (const [name, t] of tiles) {
    if (!names.has(name)) {
      // The enlarged camera gone (a reload removed it): back to all of them, or the page would stay
      // subscribed to it alone and every other tile would freeze, still showing 'running'.
      if (enlarged() === t) toggleEnlarged(null);
      t.dispose();
      t.root.remove();
      tiles.delete(name);
    }
  }
  orderTiles(sources);
  emptyEl.hidden = tiles.size > 0 || conn.refused !== null;
  // Also every second: the first frames may have changed the pictures' shape.
  layoutGrid();
}

/**
 * The tiles in the server's order of its sources (the pipeline file's): a camera a reload restarted (gone from the
 * list while it stopped) or added back comes back in its place, not below the others. Moved only when out of order.
 */
function orderTiles(sources: SourceInfo[]): void {
  const want = sources.map((s) => tiles.get(s.name)?.root).filter((r) => r !== undefined);
  const have = [...grid.querySelectorAll(':scope > section.camera')];
  if (want.every((r, i) => have[i] === r)) return;
  for (const r of want) grid.appendChild(r);
}

/** The camera enlarged to the whole window, if one is. */
function enlarged(): CameraTile | null {
  for (const t of tiles.values()) if (t.root.classList.contains('enlarged')) return t;
  return null;
}

/**
 * Enlarges `t` (or, enlarged already, or null, goes back to all cameras). What the enlarged camera covers, the
 * other tiles and the header, is inert meanwhile: Tab stayed among the hidden tiles, and Enter there swapped the
 * camera shown. The focus stays with the camera: on its name when enlarged, back on it after.
 */
function toggleEnlarged(t: CameraTile | null): void {
  const was = enlarged();
  was?.setEnlarged(false);
  const enlarge = t !== null && was !== t ? t : null;
  enlarge?.setEnlarged(true);
  document.body.classList.toggle('has-enlarged', enlarge !== null);
  for (const x of tiles.values()) x.root.inert = enlarge !== null && x !== enlarge;
  headerEl.inert = alertEl.inert = enlarge !== null;
  (enlarge ?? was)?.enlargeButton.focus({ preventScroll: true });
  // The hidden cameras need no pictures meanwhile; their figures still come with 'sources'.
  conn.subscribe(enlarge ? [enlarge.name] : '*');
  requestAnimationFrame(() => tiles.forEach((x) => x.relayout()));
}

function setPaused(p: boolean): void {
  paused = p;
  pauseBtn.textContent = p ? 'Resume' : 'Pause';
  pauseBtn.setAttribute('aria-pressed', String(p));
  renderConnection(conn.connected);
  for (const t of tiles.values()) t.renderNotice();
}

pauseBtn.addEventListener('click', () => setPaused(!paused));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') toggleEnlarged(null);
  if (e.key === 'p' || e.key === 'P') setPaused(!paused);
  if (e.key === 'd' || e.key === 'D') showDetections = !showDetections;
});
window.addEventListener('resize', () => {
  layoutGrid();
  tiles.forEach((t) => t.relayout());
});
window.__xnorcam = {
  pause: () => setPaused(true),
  resume: () => setPaused(false),
  paused: () => paused,
  showDetections: (on: boolean) => (showDetections = on),
};

setInterval(() => {
  clockEl.textContent = new Date(clock()).toLocaleTimeString();
  stats.clockOffsetMs = conn.clockOffsetMs;
  const recent = stats.latencies.slice(-300);
  const p50 = stats.percentile(50, recent), p95 = stats.percentile(95, recent);
  // Not while the server is out of reach: those were the figures of frames before it went.
  latencyEl.textContent = conn.connected && Number.isFinite(p50) ? `latency p50 ${Math.round(p50)} ms · p95 ${Math.round(p95)} ms` : '';
}, 500);

conn.start();
