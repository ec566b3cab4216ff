// Stands in for node:fs/promises in the Workers bundle: wasm/index.js imports it lazily only
// to read the .wasm from disk under Node; the worker passes the compiled module to initSync.

/** Never called in a worker. */
export function readFile() {
  throw new Error('modelsieve-worker: no file system in a worker');
}
