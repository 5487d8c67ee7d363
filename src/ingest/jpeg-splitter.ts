/**
 * Splits an MJPEG byte stream into JPEG images at the end-of-image marker (FF D9). In baseline JPEG
 * entropy data every FF is followed by 00, so FF D9 only ends an image.
 */
export class JpegSplitter {
  private parts: Buffer[] = [];
  private count = 0;
  private lastByteWasFF = false;

  constructor(private readonly onImage: (jpeg: Buffer, index: number) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    let i = 0;
    if (this.lastByteWasFF && chunk.length && chunk[0] === 0xd9) {
      this.emitImage(chunk.subarray(0, 1));
      start = i = 1;
    }
    for (;;) {
      const ff = chunk.indexOf(0xff, i);
      if (ff < 0 || ff === chunk.length - 1) break;
      if (chunk[ff + 1] === 0xd9) {
        this.emitImage(chunk.subarray(start, ff + 2));
        start = ff + 2;
      }
      i = ff + 1;
    }
    if (start < chunk.length) this.parts.push(chunk.subarray(start));
    this.lastByteWasFF = chunk.length > 0 && chunk[chunk.length - 1] === 0xff;
  }

  private emitImage(tail: Buffer): void {
    // One image per display frame, so this concat is per image, not per chunk of the hot raw path.
    const jpeg = this.parts.length ? Buffer.concat([...this.parts, tail]) : Buffer.from(tail);
    this.parts = [];
    this.onImage(jpeg, this.count++);
  }
}
