import { drawCountsChart } from './chart.js';
import { CLASS_NAMES, classColor } from './colors.js';
import { lineName, movementMatrix } from './movement-matrix.js';
import { countLabel, durationLabel, intervalLabel, sinceLabel } from './interval-label.js';
import { drawBox, drawTrails, drawZonesAndLines, scaleFor } from './overlay-draw.js';
import { PointerReadout } from './pointer-readout.js';
import type { FrameHeader, LineCounts, SourceCounts, SourceInfo, SourceOverlay } from './protocol.js';
import type { DrawnFrame, PageStats } from './stats.js';

const TRAIL_POINTS = 24;
const TRAIL_FORGET_MS = 2000;
/** Narrower, the chart's title, scale and time run into each other and its 30 bars into one: it is left out. */
const MIN_CHART_PX = 120;
/** The model id in less room than this many of its characters is a stray glyph ('x…'): it is left out. */
const MIN_MODEL_EM = 5;
/** A source's frame watchdog when it reports none (the server's default, src/server/health.ts). */
const DEFAULT_WATCHDOG_MS = 10_000;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, parent?: HTMLElement): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  parent?.appendChild(e);
  return e;
}

/**
 * One camera: live video with overlays on a canvas, its figures, its counts and its chart.
 * Frames are decoded off the main thread (createImageBitmap) and drawn on the next animation
 * frame; when frames come faster than they can be shown, only the newest waits.
 */
export class CameraTile {
  readonly root: HTMLElement;
  /** The camera's name, a button that enlarges the camera (and goes back); the tile is no button itself. */
  readonly enlargeButton: HTMLButtonElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly g: CanvasRenderingContext2D;
  private readonly stateEl: HTMLElement;
  /** What the badge says, for a screen reader: 'camera state: running', not a bare 'running'. */
  private readonly stateLabel: HTMLElement;
  /** Which model detects this camera: after a specialised model is dropped in, the operator sees it here. */
  private readonly modelEl: HTMLElement;
  /** Big words over the picture when it is not live (reconnecting, failed, offline…). */
  private readonly notice: HTMLElement;
  private offline = false;
  private readonly figuresEl: HTMLElement;
  private readonly totalEl: HTMLElement;
  /** The big total for a screen reader: '5 crossings since 02:38', not a bare '5'. */
  private readonly totalLabel: HTMLElement;
  private readonly countsEl: HTMLElement;
  private readonly chart: HTMLCanvasElement;
  private overlay: SourceOverlay = { lines: [], zones: [] };
  private counts: SourceCounts | null = null;
  private info: SourceInfo | null = null;
  /** Source pixels of the last frame drawn. */
  private sourceSize: { w: number; h: number } | null = null;
  private droppedForClient = 0;
  private decoding = false;
  private queued: { header: FrameHeader; jpeg: Uint8Array } | null = null;
  private ready: { header: FrameHeader; bitmap: ImageBitmap } | null = null;
  private rafPending = false;
  private disposed = false;
  /** A hidden page draws nothing: decoding every frame meanwhile was wasted, and counted each as dropped. */
  private readonly onVisible = () => this.decodeQueued();
  private lastSeq = -1;
  private lastCapturedAt = -Infinity;
  private trackerSeen = false;
  private readonly trails = new Map<number, { className: string; points: [number, number][]; lastSeen: number }>();
  private readonly drawTimes: number[] = [];
  private readonly recentLatency: number[] = [];

  constructor(
    readonly name: string,
    private readonly stats: PageStats,
    private readonly clock: () => number,
    private readonly options: { paused(): boolean; showDetections(): boolean },
  ) {
    this.root = el('section', 'camera');
    this.root.dataset.source = name;
    document.addEventListener('visibilitychange', this.onVisible);
    const head = el('header', 'camera-head', this.root);
    // The name is the control (Tab to it, Enter): a whole tile as a button made its tables and figures
    // mere text to a screen reader, a button's content being presentational.
    this.enlargeButton = el('button', 'camera-name', el('h2', 'camera-title', head));
    this.enlargeButton.type = 'button';
    this.enlargeButton.textContent = name;
    this.enlargeButton.setAttribute('aria-label', `enlarge camera ${name}`);
    this.enlargeButton.setAttribute('aria-expanded', 'false');
    // Cut short in a narrow tile: the whole name on hover.
    this.enlargeButton.title = name;
    this.modelEl = el('span', 'camera-model', head);
    this.modelEl.hidden = true;
    this.stateEl = el('span', 'badge', head);
    this.stateEl.setAttribute('aria-hidden', 'true');
    this.stateLabel = el('span', 'sr-only', head);
    this.totalEl = el('span', 'camera-total', head);
    this.totalEl.setAttribute('aria-hidden', 'true');
    this.totalLabel = el('span', 'sr-only', head);
    const wrap = el('div', 'video-wrap', this.root);
    this.canvas = el('canvas', 'video', wrap);
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', `live picture of camera ${name} with boxes on the vehicles it tracks`);
    this.notice = el('div', 'video-notice', wrap);
    this.notice.hidden = true;
    new PointerReadout(wrap, this.canvas, () => this.sourceSize ?? (this.info?.width && this.info.height ? { w: this.info.width, h: this.info.height } : null));
    this.canvas.width = 640;
    this.canvas.height = 360;
    this.g = this.canvas.getContext('2d', { alpha: false })!;
    this.g.fillStyle = '#000';
    this.g.fillRect(0, 0, 640, 360);
    this.figuresEl = el('div', 'figures', this.root);
    const lower = el('div', 'camera-lower', this.root);
    this.countsEl = el('div', 'counts', lower);
    this.chart = el('canvas', 'chart', lower);
  }

  setInfo(info: SourceInfo, droppedForClient: number | undefined): void {
    this.info = info;
    this.overlay = info.overlay;
    if (droppedForClient !== undefined) this.droppedForClient = droppedForClient;
    this.renderBadge();
    // No picture comes: no box kept for one (style.css), the room goes to the counts.
    this.root.classList.toggle('no-video', info.video === false);
    this.modelEl.textContent = info.model ?? '';
    this.modelEl.title = info.model ? `model: ${info.model}` : '';
    this.modelEl.hidden = !info.model;
    this.fitHead();
    this.renderNotice();
    this.renderFigures();
  }

  /** Enlarged to the whole window (main.ts), or back among the others. */
  setEnlarged(on: boolean): void {
    this.root.classList.toggle('enlarged', on);
    this.enlargeButton.setAttribute('aria-expanded', String(on));
  }

  /** The page lost its connection to the server: the picture is no longer live. */
  setOffline(offline: boolean): void {
    this.offline = offline;
    this.renderBadge();
    this.renderNotice();
    this.renderFigures();
  }

  private renderBadge(): void {
    // Without the server, the last state it sent is not news: a green RUNNING would claim a camera
    // nobody is watching is fine.
    const state = this.offline ? 'unknown' : (this.info?.state ?? 'unknown');
    this.stateEl.textContent = state;
    this.stateEl.dataset.state = state;
    this.stateEl.title = this.offline
      ? 'no connection to the server: state unknown'
      : state !== 'running' && this.info?.lastError
        ? this.info.lastError
        : '';
    this.stateLabel.textContent = `camera state: ${state}${this.stateEl.title ? ` (${this.stateEl.title})` : ''}`;
  }

  /** Also when the page is paused or resumed: each frozen picture says so. */
  renderNotice(): void {
    const state = this.info?.state;
    const pictureDown = this.offline
      ? 'OFFLINE'
      : state === 'reconnecting'
        ? `NO SIGNAL${this.downSince()} · RECONNECTING`
        : state === 'failed'
          ? `FAILED${this.info?.lastError ? ': ' + this.info.lastError : ''}`
          : state === 'finished' || state === 'stopped'
            ? state.toUpperCase()
            : '';
    const paused = !pictureDown && this.options.paused();
    // A live picture with nothing detected on it reads as an empty road: say so, as /healthz does.
    const text = pictureDown || (paused ? 'PAUSED' : state === 'running' ? this.detectionDown() || this.videoOff() : '');
    this.notice.textContent = text;
    this.notice.hidden = text === '';
    this.notice.classList.toggle('paused', paused);
    this.root.classList.toggle('paused', paused);
    this.root.classList.toggle('not-live', pictureDown !== '');
  }

  /**
   * Since when the camera has sent nothing, and for how long (ticking: the server sends the status every second):
   * ' since 02:43:08 (41 s)', by the operator's clock. Its last frame, or its start when it never sent one.
   */
  private downSince(): string {
    const at = this.info?.lastFrameAt ?? this.info?.startedAt;
    if (at === undefined || at === null) return '';
    const now = this.clock();
    return ` since ${sinceLabel(at, now, true)} (${durationLabel(now - at)})`;
  }

  /** A server run without video (--no-video) sends counts and figures only: the empty picture is no fault. */
  private videoOff(): string {
    return this.info?.video === false ? 'VIDEO OFF · counts only (started with --no-video or outputs.dashboard.video: false)' : '';
  }

  /** Why nothing is detected on a picture that is live, once that has lasted the source's watchdog. */
  private detectionDown(): string {
    const info = this.info;
    if (!info) return '';
    const limit = info.watchdogMs && info.watchdogMs > 0 ? info.watchdogMs : 10_000;
    const now = this.clock();
    if (info.detectorDownSince && now - info.detectorDownSince > limit) return 'NO DETECTION · model cannot be loaded';
    if (info.detectFailingSince && now - info.detectFailingSince > limit) return `NO DETECTION · ${info.lastDetectError ?? 'detection failing'}`;
    return '';
  }

  setCounts(c: SourceCounts): void {
    this.counts = c;
    this.renderCounts();
    // A longer total leaves the model id less room, longer counts the chart.
    this.fitHead();
    this.fitChart();
    drawCountsChart(this.chart, c, this.clock());
  }

  /** Width / height of the picture (of the frames drawn so far; 16:9 before the first). */
  aspect(): number {
    return this.canvas.width / this.canvas.height;
  }

  /** The counts' own size, in em of their font (main.ts sizes the layout and the font by it); 0 × 0 when not shown. */
  countsSize(): { w: number; h: number } {
    const font = parseFloat(getComputedStyle(this.countsEl).fontSize) || 16;
    // With its tables side by side (they wrap only when the tile is narrower): the size it asks for.
    const since = [...this.countsEl.querySelectorAll('.counts-since')] as HTMLElement[];
    const tables = [...this.countsEl.querySelectorAll('.count-table')] as HTMLElement[];
    const gap = font;
    const w = Math.max(0, ...since.map((e) => e.scrollWidth), tables.reduce((a, t) => a + t.offsetWidth + gap, -gap));
    const h = since.reduce((a, e) => a + e.offsetHeight, 0) + Math.max(0, ...tables.map((t) => t.offsetHeight)) + 0.3 * font;
    return { w: w / font, h: h / font };
  }

  /** Whether the counts are wholly shown: not cut by the tile, nor scrolled in their box. */
  countsFit(): boolean {
    const c = this.countsEl;
    if (c.clientHeight === 0) return true;
    const bottom = c.getBoundingClientRect().top + c.scrollHeight;
    return c.scrollHeight <= c.clientHeight + 1 && c.scrollWidth <= c.clientWidth + 1 && bottom <= this.root.getBoundingClientRect().bottom + 1;
  }

  /** Whether the camera's name is cut short (…) in its head. */
  nameCut(): boolean {
    const b = this.enlargeButton;
    return b.clientWidth > 0 && b.scrollWidth > b.clientWidth + 1;
  }

  /** Redraws what depends on the tile's size (after enlarging or a window resize). */
  relayout(): void {
    this.fitHead();
    this.fitChart();
    drawCountsChart(this.chart, this.counts, this.clock());
  }

  /**
   * Leaves the chart out where the counts leave it too little width (four tiles across a laptop at 150 %
   * zoom left it 8 px, its labels over each other). Shown to be measured and hidden again in one task: nothing is
   * painted between.
   */
  private fitChart(): void {
    this.root.classList.remove('chart-narrow');
    const w = this.chart.getBoundingClientRect().width;
    // 0: not shown anyway (a short tile, a phone's overview).
    this.root.classList.toggle('chart-narrow', w > 0 && w < MIN_CHART_PX);
  }

  /** Leaves the model id out of a head with too little room left for it to say anything. */
  private fitHead(): void {
    this.root.classList.remove('model-squeezed');
    if (this.modelEl.hidden) return;
    const font = parseFloat(getComputedStyle(this.modelEl).fontSize) || 14;
    const w = this.modelEl.getBoundingClientRect().width;
    this.root.classList.toggle('model-squeezed', w > 0 && w < MIN_MODEL_EM * font);
  }

  onFrame(header: FrameHeader, jpeg: Uint8Array): void {
    if (this.disposed) return;
    if (document.hidden) {
      // Only the newest is kept, decoded when the page is shown again; none of these was missed by anyone.
      this.queued = { header, jpeg };
      return;
    }
    if (this.decoding) {
      if (this.queued) this.stats.source(this.name).framesSkipped++;
      this.queued = { header, jpeg };
      return;
    }
    this.decode(header, jpeg);
  }

  /** The source is gone: stop its timers and let go of its picture. */
  dispose(): void {
    this.disposed = true;
    document.removeEventListener('visibilitychange', this.onVisible);
    this.ready?.bitmap.close();
    this.ready = null;
    this.queued = null;
  }

  private decode(header: FrameHeader, jpeg: Uint8Array): void {
    this.decoding = true;
    createImageBitmap(new Blob([jpeg as BlobPart], { type: 'image/jpeg' }))
      .then((bitmap) => {
        if (this.disposed) return bitmap.close();
        if (this.ready) {
          this.ready.bitmap.close();
          // Frames replaced while paused or hidden were not missed: nobody was looking at them.
          if (!this.options.paused() && !document.hidden) this.stats.source(this.name).framesSkipped++;
        }
        this.ready = { header, bitmap };
        if (!this.rafPending) {
          this.rafPending = true;
          requestAnimationFrame(() => this.draw());
        }
      })
      .catch(() => this.stats.errors.push({ code: 'bad-jpeg', message: `${this.name} seq ${header.seq}: image did not decode` }))
      .finally(() => {
        this.decoding = false;
        this.decodeQueued();
      });
  }

  /** Decodes the frame that waited, unless the page is hidden (then it waits on) or the tile is gone. */
  private decodeQueued(): void {
    if (document.hidden || this.disposed || this.decoding || !this.queued) return;
    const q = this.queued;
    this.queued = null;
    this.decode(q.header, q.jpeg);
  }

  private draw(): void {
    this.rafPending = false;
    const f = this.ready;
    if (!f || this.disposed) return;
    if (this.options.paused()) {
      // Keep the frozen picture; look again later so resuming shows the newest frame.
      this.rafPending = true;
      window.setTimeout(() => requestAnimationFrame(() => this.draw()), 100);
      return;
    }
    this.ready = null;
    const h = f.header;
    // A restarted source (looped file, reconnect) begins again at seq 0 with a newer capture time.
    if (h.seq <= this.lastSeq && h.capturedAt <= this.lastCapturedAt) {
      f.bitmap.close();
      return;
    }
    this.lastSeq = h.seq;
    this.lastCapturedAt = h.capturedAt;
    // The canvas takes the JPEG's own size (the display size); boxes are scaled from source pixels.
    const w = f.bitmap.width, hh = f.bitmap.height;
    if (this.canvas.width !== w || this.canvas.height !== hh) {
      this.canvas.width = w;
      this.canvas.height = hh;
      // The stylesheet fits the picture in the tile at this shape (style.css, .video-wrap).
      this.root.style.setProperty('--aspect', String(w / hh));
    }
    const g = this.g;
    g.drawImage(f.bitmap, 0, 0);
    f.bitmap.close();
    this.sourceSize = { w: h.sourceWidth, h: h.sourceHeight };
    const s = scaleFor(this.canvas, h.sourceWidth, h.sourceHeight);
    drawZonesAndLines(g, this.overlay, s);
    const drawn: DrawnFrame['boxes'] = [];
    if (h.result) {
      const now = this.clock();
      const tracks = h.result.tracks.filter((t) => t.confirmed);
      for (const t of tracks) {
        const p: [number, number] = [(t.box[0] + t.box[2]) / 2, t.box[3]];
        let trail = this.trails.get(t.id);
        if (!trail) this.trails.set(t.id, (trail = { className: t.className, points: [], lastSeen: now }));
        // A jump across the picture is not a path (an id reused after a restart): start afresh.
        const last = trail.points[trail.points.length - 1];
        if (last && Math.hypot(p[0] - last[0], p[1] - last[1]) > 0.2 * Math.hypot(h.sourceWidth, h.sourceHeight)) trail.points.length = 0;
        trail.points.push(p);
        if (trail.points.length > TRAIL_POINTS) trail.points.shift();
        trail.lastSeen = now;
        trail.className = t.className;
      }
      for (const [id, t] of this.trails) if (now - t.lastSeen > TRAIL_FORGET_MS) this.trails.delete(id);
      drawTrails(g, this.trails, tracks.map((t) => t.id), s);
      // Confirmed tracks once a tracker has shown itself; raw detections before that (a feed
      // without a tracker), or on request (D key).
      if (h.result.tracks.length > 0) this.trackerSeen = true;
      const debug = this.options.showDetections();
      if (!this.trackerSeen || debug) {
        for (const d of h.result.detections) {
          const label = drawBox(g, d, s, { raw: this.trackerSeen, withScore: true });
          drawn.push({ kind: 'detection', box: d.box, classId: d.classId, label, trackId: null });
        }
      }
      for (const t of tracks) {
        const label = drawBox(g, t, s, { withScore: debug });
        drawn.push({ kind: 'track', box: t.box, classId: t.classId, label, trackId: t.id });
      }
    }
    const drawnAt = this.clock();
    const latency = drawnAt - h.capturedAt;
    this.stats.addLatency(latency);
    this.recentLatency.push(latency);
    if (this.recentLatency.length > 60) this.recentLatency.shift();
    this.drawTimes.push(performance.now());
    if (this.drawTimes.length > 240) this.drawTimes.shift();
    const st = this.stats.source(this.name);
    st.framesDrawn++;
    this.stats.framesDrawn++;
    st.fps = this.fps();
    st.latencyP50 = this.stats.percentile(50, this.recentLatency);
    st.lastDrawn = { seq: h.seq, capturedAt: h.capturedAt, drawnAt, canvasWidth: w, canvasHeight: hh, sourceWidth: h.sourceWidth, sourceHeight: h.sourceHeight, boxes: drawn };
    this.root.dataset.seq = String(h.seq);
    if (st.framesDrawn % 5 === 0) this.renderFigures();
  }

  /** Frames drawn per second over the last 2 s (0 when the picture has stopped). */
  private fps(): number {
    const now = performance.now();
    const t = this.drawTimes;
    while (t.length && now - t[0] > 2000) t.shift();
    if (t.length < 2) return 0;
    return ((t.length - 1) * 1000) / Math.max(now - t[0], 1);
  }

  private renderFigures(): void {
    const st = this.stats.source(this.name);
    st.fps = this.fps();
    const dropped = (this.info?.droppedFrames ?? 0) + this.droppedForClient + st.framesSkipped;
    const lat = st.latencyP50;
    // Offline, or the camera not running (reconnecting, finished, failed), the rates and latency last heard
    // are not what the camera does now: no figure, not a stale one.
    const live = !this.offline && this.info?.state === 'running';
    const parts = [
      ['fps', live && st.fps ? st.fps.toFixed(1) : '–'],
      ['latency', live && Number.isFinite(lat) && lat ? `${Math.max(0, Math.round(lat))} ms` : '–'],
      ['dropped', String(dropped)],
      ['detect', live && this.info ? `${this.info.detectedFps.toFixed(1)} fps` : '–'],
    ];
    this.figuresEl.replaceChildren(
      ...parts.map(([k, v]) => {
        const d = el('span', 'figure');
        d.dataset.figure = k;
        el('span', 'figure-key', d).textContent = k;
        el('span', 'figure-value', d).textContent = v;
        return d;
      }),
    );
  }

  private renderCounts(): void {
    const c = this.counts;
    if (!c) return;
    let total = 0;
    const rows: HTMLElement[] = [];
    for (const [line, dirs] of Object.entries(c.total)) {
      const classes = [...new Set([...Object.keys(dirs.forward), ...Object.keys(dirs.backward)])].sort(byClassOrder);
      const table = el('table', 'count-table');
      el('caption', '', table).append(lineName(line));
      const hr = el('tr', '', table);
      el('td', '', hr);
      // The arrows say it at a glance; a screen reader says the words ('→ fwd' was read 'right arrow fwd').
      for (const [t, label] of [['→ fwd', 'forward'], ['← back', 'backward']]) {
        const th = el('th', '', hr);
        th.scope = 'col';
        th.textContent = t;
        th.setAttribute('aria-label', label);
      }
      for (const cls of classes) {
        const f = dirs.forward[cls] ?? 0, b = dirs.backward[cls] ?? 0;
        total += f + b;
        const tr = classRow(table, cls);
        tr.dataset.line = line;
        el('td', 'n fwd', tr).textContent = countLabel(f);
        el('td', 'n back', tr).textContent = countLabel(b);
      }
      if (classes.length === 0) el('td', 'none', el('tr', '', table)).textContent = 'no crossings yet';
      rows.push(table);
    }
    // What stands in each zone now (a queue at the lights, a bay in use), per class.
    for (const [zone, byClass] of Object.entries(c.occupancy ?? {})) {
      const table = el('table', 'count-table occupancy');
      table.dataset.zone = zone;
      el('caption', '', table).append(lineName(zone), ': in the zone now');
      const classes = Object.keys(byClass).sort(byClassOrder);
      for (const cls of classes) el('td', 'n', classRow(table, cls)).textContent = countLabel(byClass[cls]);
      if (classes.length === 0) el('td', 'none', el('tr', '', table)).textContent = 'empty';
      rows.push(table);
    }
    // A source with movements: true: where its vehicles came from and went, as a from → to table. First: the
    // column scrolls, and under a junction's line tables (four approaches) it was out of view at 1366×768.
    if (c.movements) rows.unshift(movementMatrix(c.movements, Object.keys(c.total)));
    const since = this.sinceLines(c);
    const tables = el('div', 'counts-tables');
    tables.replaceChildren(...rows);
    this.countsEl.replaceChildren(...since, tables);
    this.totalEl.textContent = countLabel(total);
    this.totalEl.title = `crossings counted on all lines${since[0] ? ', ' + since[0].textContent : ''}`;
    const from = c.asOf !== undefined ? ' in the recording' : c.since !== undefined ? ` since ${sinceLabel(c.since, this.clock(), c.intervalMs % 60_000 !== 0)}` : '';
    this.totalLabel.textContent = `${countLabel(total)} ${total === 1 ? 'crossing' : 'crossings'}${from}`;
  }

  /**
   * Since when the figures count: the totals since the run started the camera (a restart starts them from 0),
   * the interval in progress since its start, with its count (the whole interval, as the counts CSV has it).
   */
  private sinceLines(c: SourceCounts): HTMLElement[] {
    // A recording counted by its own time: its totals are of the recording, its intervals of video time.
    if (c.asOf !== undefined) return [];
    const now = this.clock();
    const lines: HTMLElement[] = [];
    const seconds = c.intervalMs % 60_000 !== 0;
    if (c.since !== undefined) {
      const p = el('p', 'counts-since total-since');
      p.textContent = `total since ${sinceLabel(c.since, now, seconds)}`;
      lines.push(p);
    }
    const start = Math.floor(now / c.intervalMs) * c.intervalMs;
    const current = c.intervals.find((iv) => iv.start === start);
    const p = el('p', 'counts-since interval-since');
    p.dataset.start = String(start);
    p.append(`this ${intervalLabel(c.intervalMs)}, since ${sinceLabel(start, now, seconds)}: `);
    if (current || this.counting(start, now)) {
      el('b', '', p).textContent = countLabel(current ? sumCounts(current.counts) : 0);
    } else {
      // No frame in it (a camera down): it gets no rows in the counts CSV, and a 0 would say it was counted.
      el('b', '', p).textContent = '–';
      p.append(' not counted');
      p.classList.add('not-counted');
      p.title = 'no frames from the camera in this interval: it is not counted (no rows in the counts CSV)';
    }
    lines.push(p);
    return lines;
  }

  /**
   * Whether the interval from `start` is being counted though the counts have none of it yet: the camera sent a frame
   * in it, or is sending (a snapshot taken just as the interval began has none of it yet), and detection works.
   */
  private counting(start: number, now: number): boolean {
    const i = this.info;
    if (!i || i.lastFrameAt === null) return false;
    // Frames the detector cannot do are not counted either (the server keeps no interval of them).
    const blindSince = Math.min(i.detectorDownSince ?? Infinity, i.detectFailingSince ?? Infinity);
    if (blindSince <= start) return false;
    const watchdog = i.watchdogMs && i.watchdogMs > 0 ? i.watchdogMs : DEFAULT_WATCHDOG_MS;
    return i.lastFrameAt >= start || (i.state === 'running' && now - i.lastFrameAt <= watchdog);
  }
}

/** Crossings on all lines, both ways, all classes. */
function sumCounts(c: LineCounts): number {
  let n = 0;
  for (const dirs of Object.values(c)) for (const d of [dirs.forward, dirs.backward]) for (const k of Object.values(d)) n += k;
  return n;
}

/** The traffic classes in their usual order (car, truck, bus, ...), others after them. */
function byClassOrder(a: string, b: string): number {
  return ((CLASS_NAMES.indexOf(a) + 99) % 99) - ((CLASS_NAMES.indexOf(b) + 99) % 99);
}

/** A table row headed by the class name in its colour (a row header: a screen reader says 'car' with each count). */
function classRow(table: HTMLElement, cls: string): HTMLElement {
  const tr = el('tr', '', table);
  tr.dataset.cls = cls;
  const name = el('th', 'cls', tr);
  name.scope = 'row';
  name.textContent = cls;
  name.style.color = classColor(cls);
  return tr;
}
