/**
 * The source-pixel position under the pointer, over a camera's picture: counting lines, zones and calibrations
 * are typed in the camera's own pixels, which the smaller, scaled picture on the page does not show. Shift-click
 * copies `x,y` (a plain click enlarges the camera, as before).
 */
export class PointerReadout {
  private readonly el: HTMLElement;
  private readonly xy: HTMLElement;
  private readonly note: HTMLElement;
  private at: [number, number] | null = null;

  constructor(
    wrap: HTMLElement,
    private readonly canvas: HTMLCanvasElement,
    /** The picture's size in source pixels (of the frames drawn; the source's status before the first). */
    private readonly sourceSize: () => { w: number; h: number } | null,
  ) {
    this.el = document.createElement('div');
    this.el.className = 'pointer-readout';
    this.el.hidden = true;
    const box = document.createElement('span');
    box.className = 'pointer-box';
    this.xy = document.createElement('span');
    this.xy.className = 'pointer-xy';
    this.note = document.createElement('span');
    this.note.className = 'pointer-note';
    box.append(this.xy, this.note);
    this.el.append(box);
    wrap.append(this.el);
    // On the wrap, not the canvas: the PAUSED notice lies over the picture, and a paused picture is the one to read.
    wrap.addEventListener('pointermove', (e) => this.move(e));
    wrap.addEventListener('pointerleave', () => this.hide());
    wrap.addEventListener('click', (e) => {
      if (!e.shiftKey || !this.at) return;
      // Not a click to enlarge or go back (main.ts listens on the tile).
      e.stopPropagation();
      void this.copy(`${this.at[0]},${this.at[1]}`);
    });
  }

  private move(e: PointerEvent): void {
    const size = this.sourceSize();
    const r = this.canvas.getBoundingClientRect();
    const fx = (e.clientX - r.left) / r.width;
    const fy = (e.clientY - r.top) / r.height;
    if (!size || !(r.width > 0 && r.height > 0) || fx < 0 || fx > 1 || fy < 0 || fy > 1) return this.hide();
    this.at = [Math.round(fx * size.w), Math.round(fy * size.h)];
    this.xy.textContent = `${this.at[0]},${this.at[1]}`;
    this.note.textContent = ` of ${size.w}×${size.h} · shift-click copies`;
    this.el.hidden = false;
  }

  private hide(): void {
    this.at = null;
    this.el.hidden = true;
  }

  private async copy(text: string): Promise<void> {
    this.note.textContent = (await copyText(text)) ? ' copied' : ' (the browser did not let the page copy it)';
  }
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API on a plain-http page of a LAN address (not a secure context): the older way works there.
    const area = document.createElement('textarea');
    area.value = text;
    area.className = 'copy-buffer';
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}
