/**
 * The slice of the WebAssembly JS API this backend uses. The project compiles without the DOM
 * library and @types/node 20 does not declare `WebAssembly`, so it is typed here.
 */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
export type WasmModule = object;
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: Record<string, Record<string, unknown>>): Promise<WasmInstance>;
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
