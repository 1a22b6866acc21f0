// The clock of TTLs, cool-downs and deadlines: monotonic milliseconds. Not performance.now():
// the global `performance` loads perf_hooks at its first use (0.75–0.85 ms on Node 20–24),
// which a program that never reads it would pay at its first service name; process.hrtime()
// is there from the start and costs the same per call (about 50 ns).

const nodeProcess = process;

/** Milliseconds on a monotonic clock with an arbitrary origin: for differences only. */
export function monotonicMs(): number {
  // Not destructured: below V8's optimising tiers that runs the array's iterator protocol,
  // which cost a warm connect (two readings) 2-3 K instructions (bench/README.md, the
  // forty-first pass). The global `process` is a getter: taken once.
  const time = nodeProcess.hrtime();
  return time[0] * 1e3 + time[1] / 1e6;
}
