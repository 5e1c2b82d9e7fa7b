import type { ExtractionEvent } from '@robian/core';

interface JobState {
  /** When the last progress of this job was sent (ms, monotonic). */
  last: number;
  pending?: ExtractionEvent & { progress: number };
  timer?: NodeJS.Timeout;
}

/**
 * Throttles `extraction.progress` per job: at most one every `intervalMs`, the newest value
 * winning. The last progress is never lost (a trailing send flushes it), and `finish()` sends a
 * pending progress before the job's completion, failure or cancellation, so the order holds.
 */
export class ProgressThrottle {
  readonly #intervalMs: number;
  readonly #send: (payload: ExtractionEvent & { progress: number }) => void;
  readonly #jobs = new Map<string, JobState>();
  /** Progress events replaced by a newer one before they were sent. */
  coalesced = 0;
  #closed = false;

  readonly #onCoalesce: () => void;

  constructor(intervalMs: number, send: (payload: ExtractionEvent & { progress: number }) => void, onCoalesce: () => void = () => {}) {
    this.#intervalMs = intervalMs;
    this.#send = send;
    this.#onCoalesce = onCoalesce;
  }

  get jobs(): number {
    return this.#jobs.size;
  }

  progress(payload: ExtractionEvent & { progress: number }): void {
    if (this.#closed) return;
    const key = String(payload.extraction_id);
    const now = performance.now();
    let state = this.#jobs.get(key);
    if (!state) {
      if (this.#jobs.size >= 10_000) this.#sweep(now);
      state = { last: -Infinity };
      this.#jobs.set(key, state);
    }
    if (this.#intervalMs <= 0 || (!state.timer && now - state.last >= this.#intervalMs)) {
      state.last = now;
      this.#send(payload);
      return;
    }
    if (state.pending) {
      this.coalesced++;
      this.#onCoalesce();
    }
    state.pending = payload;
    if (!state.timer) {
      const s = state;
      state.timer = setTimeout(() => this.#flush(key, s), Math.max(0, this.#intervalMs - (now - state.last)));
      state.timer.unref();
    }
  }

  /** The job is over: send its pending progress now (before the final event) and forget it. */
  finish(extractionId: string | number): void {
    const key = String(extractionId);
    const state = this.#jobs.get(key);
    if (!state) return;
    if (state.timer) clearTimeout(state.timer);
    this.#jobs.delete(key);
    if (state.pending && !this.#closed) this.#send(state.pending);
  }

  close(): void {
    this.#closed = true;
    for (const state of this.#jobs.values()) if (state.timer) clearTimeout(state.timer);
    this.#jobs.clear();
  }

  #flush(key: string, state: JobState): void {
    state.timer = undefined;
    if (this.#jobs.get(key) !== state) return;
    const pending = state.pending;
    state.pending = undefined;
    if (pending) {
      state.last = performance.now();
      this.#send(pending);
    }
  }

  /** Forgets idle jobs that never finished (their completion event was lost). */
  #sweep(now: number): void {
    for (const [key, state] of this.#jobs) {
      if (!state.timer && now - state.last > 60_000) this.#jobs.delete(key);
    }
  }
}
