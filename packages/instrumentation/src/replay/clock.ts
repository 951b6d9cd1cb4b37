/**
 * The recorded clock, while a replay runs (docs/export-test.md, "Time"): `Date.now()`, `new Date()`
 * with no argument, `Date()` and `performance.now()` read the recording's time instead of the
 * machine's. Timers are untouched: Node runs them on its own monotonic clock (libuv's loop time),
 * which none of these functions feed, so `setTimeout` still fires after its delay.
 */

/**
 * Replaces the clock functions until the returned function is called. `clock()` gives the recorded
 * time in ms since `originMs` (what `performance.now()` read in the recorded process), or null to
 * read the real clock. `Date` is replaced by a proxy of itself: `Date.prototype`, `instanceof Date`
 * and every static but `now` stay the original's.
 */
export function freezeClock(originMs: number, clock: () => number | null): () => void {
  const RealDate = Date;
  const realDateNow = Date.now;
  const realPerformanceNow = Object.getOwnPropertyDescriptor(performance, 'now');
  const performanceNow = performance.now.bind(performance);
  const wallMs = (): number => {
    const ms = clock();
    // Date.now() answers whole milliseconds.
    return ms === null ? realDateNow() : Math.floor(originMs + ms);
  };
  const frozenNow = function now(): number {
    return wallMs();
  };
  const FrozenDate = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      return Reflect.construct(target, args.length === 0 ? [wallMs()] : args, newTarget);
    },
    apply() {
      // Date() called as a function gives the current time as a string, whatever its arguments.
      return new RealDate(wallMs()).toString();
    },
    get(target, property, receiver) {
      return property === 'now' ? frozenNow : Reflect.get(target, property, receiver);
    },
  });
  globalThis.Date = FrozenDate;
  Object.defineProperty(performance, 'now', {
    configurable: true,
    writable: true,
    value: function now(): number {
      return clock() ?? performanceNow();
    },
  });
  return () => {
    globalThis.Date = RealDate;
    if (realPerformanceNow === undefined) delete (performance as { now?: unknown }).now;
    else Object.defineProperty(performance, 'now', realPerformanceNow);
  };
}
