import { wasmApi, type WasmMemory } from './wasm-api.js';

/**
 * Bump allocator over a shared WebAssembly memory. Shared memory is used because growing an
 * ordinary WebAssembly memory detaches every ArrayBuffer view of it, while a SharedArrayBuffer view
 * stays valid after growth: tensors handed out by allocFloat32 therefore live as long as the
 * backend. Nothing is freed one by one; the whole memory goes when the backend does.
 */
const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB of address space (reserved up front); pages are committed only when grown into
const ALIGN = 64;
/** Gap after every allocation: SIMD tiles may read (never write) a few vectors past an operand. */
const SLACK = 128;

export class WasmHeap {
  readonly memory: WasmMemory = new wasmApi.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
  private top = 0;
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  start(base: number): void {
    this.top = base;
  }

  /** Zeroed bytes (fresh memory is zero and nothing is reused), 64-byte aligned. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`wasm heap: bad allocation size ${bytes}`);
    const ptr = Math.ceil(this.top / ALIGN) * ALIGN;
    const end = ptr + bytes + SLACK;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) throw new Error(`wasm heap: out of memory allocating ${bytes} bytes`);
      this.memory.grow(pages);
    }
    this.top = end;
    return ptr;
  }

  private view(): ArrayBufferLike {
    const buf = this.memory.buffer;
    this.buffers.add(buf);
    return buf;
  }

  f32(ptr: number, count: number): Float32Array {
    return new Float32Array(this.view(), ptr, count);
  }
  i32(ptr: number, count: number): Int32Array {
    return new Int32Array(this.view(), ptr, count);
  }
  u8(ptr: number, count: number): Uint8Array {
    return new Uint8Array(this.view(), ptr, count);
  }

  /** Byte address of a view of this heap, or -1 for any other array. */
  addressOf(a: Float32Array): number {
    return this.buffers.has(a.buffer) ? a.byteOffset : -1;
  }
}
