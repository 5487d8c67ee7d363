// Runs a benchmark script's main(): a user error (an unknown backend, a missing file) ends it with one line, as
// the product's commands give it; anything else is a bug and keeps its stack trace.
export function runMain(main, prefix) {
  main().catch((e) => {
    if (e?.name !== 'UserError') throw e;
    console.error(`error: ${prefix}: ${e.message}`);
    process.exit(e.exitCode ?? 1);
  });
}
