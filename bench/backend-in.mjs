// Creating a kernel backend in a given precision for the benchmarks: XNORCAM_PRECISION is how
// src/engine/kernels/select.ts passes the precision on, so it is set just for the creation.

/** createBackend(name) with XNORCAM_PRECISION = precision while it runs. */
export async function backendIn(createBackend, name, precision) {
  const saved = process.env.XNORCAM_PRECISION;
  process.env.XNORCAM_PRECISION = precision;
  try {
    return await createBackend(name);
  } finally {
    if (saved === undefined) delete process.env.XNORCAM_PRECISION;
    else process.env.XNORCAM_PRECISION = saved;
  }
}
