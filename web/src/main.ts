import { CameraTile } from './camera-tile.js';
import { Connection, type Refusal } from './connection.js';
import type { ServerMessage, SourceInfo } from './protocol.js';
import { PageStats } from './stats.js';

/**
 * The xnorcam dashboard: one tile per camera, fed by one WebSocket (/ws on the page's own host).
 * Click a tile (or Tab to it and press Enter) to enlarge it (again, or Esc, to go back); P pauses the pictures; D shows the
 * detector's raw boxes as well as the confirmed tracks.
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
    t.root.addEventListener('click', () => toggleEnlarged(tileRef));
    // A wall screen is often driven from a keyboard: Tab to a camera, Enter or Space to enlarge it.
    t.root.tabIndex = 0;
    t.root.setAttribute('role', 'button');
    t.root.setAttribute('aria-label', `camera ${name}: enlarge or back to all cameras`);
    t.root.addEventListener('keydown', (e) => {
      // A key held down repeats: one press, one toggle (each would also ask the server for other frames).
      if ((e.key !== 'Enter' && e.key !== ' ') || e.repeat) return;
      e.preventDefault();
      toggleEnlarged(tileRef);
    });
    tiles.set(name, t);
    grid.appendChild(t.root);
    emptyEl.hidden = true;
    layoutGrid();
  }
  return t;
}

/**
 * Room, in rem, that a tile gives to other things than its picture (style.css): stacked, the head,
 * figures, counts and chart under it, less what the @container rules drop from short tiles; side
 * by side (.side), the head above and an 18rem column beside it. Approximate, and used only to
 * choose the layout: the stylesheet fits whatever is chosen into the window by itself.
 */
const TILE_PAD_REM = 1.45;
const SIDE_COLUMN_REM = 18.8;
function stackedOverheadRem(heightRem: number): number {
  return heightRem > 30 ? 16.5 : heightRem > 16 ? 7 : 4.5;
}

/** Picks the columns, and figures under or beside the pictures, that show the pictures largest with every tile in the window. */
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
  let best = { cols: 1, rows: Math.max(1, n), side: false, picture: -1 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const w = (width - gap * (cols - 1)) / cols - TILE_PAD_REM * rem;
    const h = (height - gap * (rows - 1)) / rows;
    const stacked = Math.min(w, Math.max(0, h - stackedOverheadRem(h / rem) * rem) * aspect);
    const side = Math.min(w - SIDE_COLUMN_REM * rem, Math.max(0, h - stackedOverheadRem(0) * rem) * aspect);
    // Ties (a pixel) go to fewer columns and to figures under the picture.
    if (stacked > best.picture + 1) best = { cols, rows, side: false, picture: stacked };
    if (side > best.picture + 1) best = { cols, rows, side: true, picture: side };
  }
  const cols = String(best.cols), rows = String(best.rows);
  const same = grid.style.getPropertyValue('--cols') === cols && grid.style.getPropertyValue('--rows') === rows && grid.classList.contains('side') === best.side;
  if (same) return;
  grid.style.setProperty('--cols', cols);
  grid.style.setProperty('--rows', rows);
  grid.classList.toggle('side', best.side);
  requestAnimationFrame(() => tiles.forEach((t) => t.relayout()));
}

function syncSources(sources: SourceInfo[], dropped: Record<string, number>): void {
  for (const s of sources) tile(s.name).setInfo(s, dropped[s.name]);
  // A source the pipeline no longer reports is removed from the grid.
  const names = new Set(sources.map((s) => s.name));
  for (const [name, t] of tiles) {
    if (!names.has(name)) {
      // The enlarged camera gone (a reload removed it): back to all of them, or the page would stay
      // subscribed to it alone and every other tile would freeze, still showing 'running'.
      if (t.root.classList.contains('enlarged')) toggleEnlarged(null);
      t.dispose();
      t.root.remove();
      tiles.delete(name);
    }
  }
  emptyEl.hidden = tiles.size > 0 || conn.refused !== null;
  // Also every second: the first frames may have changed the pictures' shape.
  layoutGrid();
}

function toggleEnlarged(t: CameraTile | null): void {
  const was = grid.querySelector('.camera.enlarged');
  was?.classList.remove('enlarged');
  const enlarge = t && was !== t.root;
  if (enlarge) t.root.classList.add('enlarged');
  document.body.classList.toggle('has-enlarged', Boolean(enlarge));
  // The hidden cameras need no pictures meanwhile; their figures still come with 'sources'.
  conn.subscribe(enlarge ? [t.name] : '*');
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
