/**
 * Forces a recorded interleaving (docs/export-test.md, "The scheduler"). The replayed app's
 * dependency is wrapped so that each of its async calls waits at a gate; the gates open one at a
 * time, in the order the recording ran them, each named by causal identity (request 2's second
 * `find`), never by time. A call runs alone: the next gate opens once it has settled and its
 * caller's continuation has run on to its next gate, so the data flow of the recording repeats.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { describeStep, type ReplayRecording, type ReplayStep } from './recording.ts';

/** What the replayed app's start-up uses to wrap the dependency whose calls are the await points. */
export interface ReplayGate {
  /** Wraps the async methods of `target` (an instance of the recording's gated class) in place. */
  wrap<T extends object>(target: T): T;
}

/** A call by causal identity: request 2's first `MemoryAccountStore.find`. */
type CallKey = Pick<ReplayStep, 'request' | 'method' | 'ordinal'>;

/** How long the schedule waits for a step while some request is still busy elsewhere. */
export const STALL_MS = 5000;

/**
 * Did a request that succeeded in the recording refuse now (docs/export-test.md, "The
 * scheduler")? A client error (4xx) where the recording had a success (2xx): what a fix that
 * refuses some of the racing requests (insufficient funds, 409) does. Not 404: a path the app no
 * longer serves is a changed app, not a refusal. Anything else that differs is a divergence.
 */
export function refused(status: number | null, recorded: number | null): boolean {
  return (
    status !== null &&
    recorded !== null &&
    recorded >= 200 &&
    recorded < 300 &&
    status >= 400 &&
    status < 500 &&
    status !== 404
  );
}

function stepKey(request: number, method: string, ordinal: number): string {
  return `${request}\u0000${method}\u0000${ordinal}`;
}

export class ReplayScheduler implements ReplayGate {
  readonly #recording: ReplayRecording;
  readonly #scheduled: Set<string>;
  readonly #request = new AsyncLocalStorage<number>();
  /** Per request, how many calls of each method it has made. */
  readonly #counts = new Map<number, Map<string, number>>();
  /** Calls that reached their gate, by step key, and the step each request waits at. */
  readonly #waiting = new Map<string, { step: CallKey; open: () => void }>();
  readonly #running = new Set<number>();
  readonly #finished = new Map<number, number | null>();
  readonly #skipped = new Map<number, string[]>();
  /** Requests that refused (see `refused`), with their status and the steps they did not make. */
  readonly #refused = new Map<number, { status: number; steps: string[] }>();
  readonly #unscheduled = new Map<number, string[]>();
  /** The recorded clock: per request, the time of its latest step released; and the latest overall. */
  readonly #requestClock = new Map<number, number>();
  #clockMs: number | null;
  /** Why the replay may answer otherwise than recorded (an outgoing call it could not answer). */
  readonly #causes: string[] = [];
  #next = 0;
  #busy = false;
  #failure: Error | null = null;
  #stall: NodeJS.Timeout | undefined;
  #resolve: () => void = () => {};
  #reject: (error: Error) => void = () => {};
  /** Settles when every step has run (or been skipped); rejects with the divergence. */
  readonly done: Promise<void>;

  constructor(recording: ReplayRecording) {
    this.#recording = recording;
    this.#scheduled = new Set(recording.steps.map((s) => stepKey(s.request, s.method, s.ordinal)));
    const arrivals = recording.requests.flatMap(({ atMs }) => (atMs === null ? [] : [atMs]));
    this.#clockMs = arrivals.length === 0 ? null : Math.min(...arrivals);
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A divergence is reported by whoever awaits `done`; never as an unhandled rejection.
    this.done.catch(() => {});
  }

  /** Runs `fn` as recorded request `request`: the calls it makes are that request's. */
  run<T>(request: number, fn: () => T): T {
    return this.#request.run(request, fn);
  }

  /** The recorded request whose work is running now, if any. */
  currentRequest(): number | undefined {
    return this.#request.getStore();
  }

  /**
   * The recorded clock now (ms since the recording's `clock.originMs`): in a request, the time the
   * task that ran its latest released step started (before its first step, when it arrived);
   * elsewhere, the latest step's. Null when the recording has no times.
   */
  now(): number | null {
    const request = this.#request.getStore();
    if (request !== undefined) {
      const ms = this.#requestClock.get(request) ?? this.#recording.requests[request - 1]?.atMs;
      if (ms !== undefined && ms !== null) return ms;
    }
    return this.#clockMs;
  }

  /** Adds what a divergence's message then names as its likely cause. */
  explain(cause: string): void {
    this.#causes.push(cause);
  }

  #because(): string {
    return this.#causes.length === 0 ? '' : `; ${this.#causes.join('; ')}`;
  }

  /** Fails the replay now (an outgoing call the recording does not have): `done` rejects with it. */
  fail(message: string): Error {
    if (this.#failure !== null) return this.#failure;
    clearTimeout(this.#stall);
    this.#failure = new Error(message);
    this.#reject(this.#failure);
    return this.#failure;
  }

  requestStarted(request: number): void {
    this.#running.add(request);
  }

  requestFinished(request: number, status: number | null): void {
    if (this.#finished.has(request)) return;
    this.#running.delete(request);
    this.#finished.set(request, status);
    this.#pump();
  }

  /** What the replay did that the recording did not: for the test's diagnostics. */
  notes(): string[] {
    const notes: string[] = [];
    for (const [request, { status, steps }] of this.#refused) {
      const recorded = this.#recording.requests[request - 1]?.status;
      const skipped = steps.length === 0 ? '' : `; its remaining steps skipped: ${steps.join(', ')}`;
      notes.push(
        `request ${request} was refused: answered ${status} (recorded ${recorded})${skipped}; its change is not counted`,
      );
    }
    for (const [request, steps] of this.#skipped) {
      notes.push(
        `request ${request} answered without making ${steps.join(', ')} (the code no longer makes them)`,
      );
    }
    for (const [request, calls] of this.#unscheduled) {
      notes.push(
        `request ${request} made ${calls.join(', ')}, which the recording does not have: run unscheduled`,
      );
    }
    return notes;
  }

  wrap<T extends object>(target: T): T {
    const className = target.constructor.name;
    const seen = new Set<string>();
    for (let proto = Object.getPrototypeOf(target); proto !== null && proto !== Object.prototype; ) {
      for (const name of Object.getOwnPropertyNames(proto)) {
        const original: unknown = Object.getOwnPropertyDescriptor(proto, name)?.value;
        if (name === 'constructor' || seen.has(name) || typeof original !== 'function') continue;
        if (original.constructor.name !== 'AsyncFunction') continue;
        seen.add(name);
        const method = `${className}.${name}`;
        Object.defineProperty(target, name, {
          configurable: true,
          writable: true,
          value: (...args: unknown[]) => this.#call(method, () => Reflect.apply(original, target, args)),
        });
      }
      proto = Object.getPrototypeOf(proto);
    }
    return target;
  }

  async #call(method: string, run: () => unknown): Promise<unknown> {
    const request = this.#request.getStore();
    if (request === undefined || this.#failure !== null) return run();
    const counts = this.#counts.get(request) ?? new Map<string, number>();
    this.#counts.set(request, counts);
    const ordinal = (counts.get(method) ?? 0) + 1;
    counts.set(method, ordinal);
    const key = stepKey(request, method, ordinal);
    if (!this.#scheduled.has(key)) {
      const list = this.#unscheduled.get(request) ?? [];
      list.push(`${method} #${ordinal}`);
      this.#unscheduled.set(request, list);
      return run();
    }
    await new Promise<void>((open) => {
      this.#waiting.set(key, { step: { request, method, ordinal }, open });
      this.#pump();
    });
    try {
      return await run();
    } finally {
      this.#busy = false;
      // After the caller's continuation (microtasks) has run on to its next gate, or elsewhere.
      setImmediate(() => this.#pump());
    }
  }

  #pump(): void {
    if (this.#busy || this.#failure !== null) return;
    clearTimeout(this.#stall);
    const { steps, requests } = this.#recording;
    while (this.#next < steps.length) {
      const step = steps[this.#next] as ReplayStep;
      const key = stepKey(step.request, step.method, step.ordinal);
      const waiting = this.#waiting.get(key);
      if (waiting !== undefined) {
        this.#waiting.delete(key);
        this.#next++;
        this.#busy = true;
        if (step.atMs !== null) {
          this.#requestClock.set(step.request, step.atMs);
          this.#clockMs = Math.max(this.#clockMs ?? step.atMs, step.atMs);
        }
        waiting.open();
        return;
      }
      if (this.#finished.has(step.request)) {
        const status = this.#finished.get(step.request) ?? null;
        const recorded = requests[step.request - 1]?.status ?? null;
        if (refused(status, recorded)) {
          const entry = this.#refused.get(step.request) ?? { status: status as number, steps: [] };
          entry.steps.push(`${step.method} #${step.ordinal}`);
          this.#refused.set(step.request, entry);
          this.#next++;
          continue;
        }
        if (recorded !== null && status !== recorded) {
          this.#diverge(
            step,
            `request ${step.request} answered ${status ?? 'nothing'} (recorded ${recorded})`,
          );
          return;
        }
        const list = this.#skipped.get(step.request) ?? [];
        list.push(`${step.method} #${step.ordinal}`);
        this.#skipped.set(step.request, list);
        this.#next++;
        continue;
      }
      if (this.#idle()) {
        this.#diverge(step, this.#state());
        return;
      }
      this.#stall = setTimeout(
        () => this.#diverge(step, `nothing for ${STALL_MS} ms (${this.#state()})`),
        STALL_MS,
      );
      return;
    }
    this.#resolve();
  }

  /** Every unfinished request waits at a gate other than the next step's: nothing can move. */
  #idle(): boolean {
    const waitingRequests = new Set([...this.#waiting.values()].map(({ step }) => step.request));
    return [...this.#running].every((request) => waitingRequests.has(request));
  }

  #state(): string {
    const parts = [...this.#waiting.values()].map(
      ({ step }) => `request ${step.request} waiting at ${step.method} #${step.ordinal}`,
    );
    const waitingRequests = new Set([...this.#waiting.values()].map(({ step }) => step.request));
    for (const request of this.#running) {
      if (!waitingRequests.has(request)) parts.push(`request ${request} still running`);
    }
    return parts.length > 0 ? parts.join('; ') : 'every request has answered';
  }

  #diverge(step: ReplayStep, got: string): void {
    if (this.#failure !== null) return;
    clearTimeout(this.#stall);
    this.#failure = new Error(
      `trace diverged at step ${this.#next + 1}: expected ${describeStep(step, this.#recording.requests)}, got: ${got}${this.#because()}`,
    );
    this.#reject(this.#failure);
  }

  /** Notes a request that refused after its last step (`refused`): for the diagnostics. */
  refusedAfterLastStep(request: number, status: number): void {
    if (!this.#refused.has(request)) this.#refused.set(request, { status, steps: [] });
  }

  /** Fails the replay after its last step (a request answered otherwise than recorded). */
  divergeAfterLastStep(got: string): Error {
    this.#failure ??= new Error(
      `trace diverged after the last step (${this.#recording.steps.length}): ${got}${this.#because()}`,
    );
    return this.#failure;
  }
}
