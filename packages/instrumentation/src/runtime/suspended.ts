/**
 * The await site each suspended invocation is suspended at, for `Recorder.caught` (a rejected
 * await's continuation starts in a catch or finally, where only the invocation is known).
 *
 * Every await writes and removes one entry, so this is on the hot path: a `Map` there cost about
 * as much as the rest of the await's probes (its backing store grows and shrinks with the awaits
 * in flight, which also feeds the garbage collector). Invocation ids are handed out in order, so a
 * table indexed by the id's low bits holds the entries of the invocations in flight without
 * allocating; an invocation still suspended when a later one needs its slot (a long await) moves
 * to a `Map`, so no entry is ever lost.
 */

const SLOTS = 1 << 12;
const MASK = SLOTS - 1;

export class SuspendedInvocations {
  /** The invocation in each slot (0: free); ids can pass 2^32 in a long-lived process. */
  readonly #invocations = new Float64Array(SLOTS);
  readonly #sites = new Uint32Array(SLOTS);
  /** Entries moved out of their slot by a later invocation. */
  readonly #evicted = new Map<number, number>();

  /** `invocation` (an id from 1) is suspended at `site`. */
  set(invocation: number, site: number): void {
    const slot = invocation & MASK;
    const held = this.#invocations[slot] as number;
    if (held !== 0 && held !== invocation) this.#evicted.set(held, this.#sites[slot] as number);
    this.#invocations[slot] = invocation;
    this.#sites[slot] = site;
  }

  /** `invocation` resumed: forgets its entry. */
  delete(invocation: number): void {
    const slot = invocation & MASK;
    if (this.#invocations[slot] === invocation) this.#invocations[slot] = 0;
    else if (this.#evicted.size > 0) this.#evicted.delete(invocation);
  }

  /** The site `invocation` is suspended at, forgetting it; -1 when it is not suspended. */
  take(invocation: number): number {
    const slot = invocation & MASK;
    if (this.#invocations[slot] === invocation) {
      this.#invocations[slot] = 0;
      return this.#sites[slot] as number;
    }
    const site = this.#evicted.get(invocation);
    if (site === undefined) return -1;
    this.#evicted.delete(invocation);
    return site;
  }

  /** Entries held (for tests). */
  get size(): number {
    let held = this.#evicted.size;
    for (const invocation of this.#invocations) if (invocation !== 0) held++;
    return held;
  }
}
