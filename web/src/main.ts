import { CameraTile } from './camera-tile.js';
import { Connection } from './connection.js';
import type { ServerMessage, SourceInfo } from './protocol.js';
import { PageStats } from './stats.js';

/**
 * The xnorcam dashboard: one tile per camera, fed by one WebSocket (/ws on the page's own host).
 * Click a tile to enlarge it (click again or Esc to go back); P pauses the pictures; D shows the
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
const tiles = new Map<string, CameraTile>();
let paused = false;
let showDetections = false;

// Relative to the page, so the dashboard also works behind a proxy that serves it under a path prefix.
const wsUrl = new URL('ws', location.href);
wsUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
wsUrl.search = '';
const conn = new Connection(wsUrl.href, {
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
    connEl.textContent = connected ? 'live' : 'reconnecting…';
    connEl.dataset.state = connected ? 'running' : 'reconnecting';
    for (const t of tiles.values()) t.setOffline(!connected);
  },
});

function clock(): number {
  return Date.now() + conn.clockOffsetMs;
}

function tile(name: string): CameraTile {
  let t = tiles.get(name);
  if (!t) {
    t = new CameraTile(name, stats, clock, { paused: () => paused, showDetections: () => showDetections });
    const tileRef = t;
    t.root.addEventListener('click', () => toggleEnlarged(tileRef));
    tiles.set(name, t);
    grid.appendChild(t.root);
    emptyEl.hidden = true;
  }
  return t;
}

function syncSources(sources: SourceInfo[], dropped: Record<string, number>): void {
  for (const s of sources) tile(s.name).setInfo(s, dropped[s.name]);
  // A source the pipeline no longer reports is removed from the grid.
  const names = new Set(sources.map((s) => s.name));
  for (const [name, t] of tiles) {
    if (!names.has(name)) {
      t.root.remove();
      tiles.delete(name);
    }
  }
  emptyEl.hidden = tiles.size > 0;
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
}

pauseBtn.addEventListener('click', () => setPaused(!paused));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') toggleEnlarged(null);
  if (e.key === 'p' || e.key === 'P') setPaused(!paused);
  if (e.key === 'd' || e.key === 'D') showDetections = !showDetections;
});
window.addEventListener('resize', () => tiles.forEach((t) => t.relayout()));
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
  latencyEl.textContent = Number.isFinite(p50) ? `latency p50 ${Math.round(p50)} ms · p95 ${Math.round(p95)} ms` : '';
}, 500);

conn.start();
