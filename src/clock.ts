// The clock of TTLs, cool-downs and deadlines: monotonic milliseconds. Not performance.now():
// the global `performance` loads perf_hooks at its first use (0.75–0.85 ms on Node 20–24),
// which a program that never reads it would pay at its first service name; process.hrtime()
// is there from the start and costs the same per call (about 50 ns).

/** Milliseconds on a monotonic clock with an arbitrary origin: for differences only. */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}
