/**
 * A token bucket per connection for the messages a client sends: `perSecond` on average, bursts
 * up to `perSecond`. Over it a message is refused; `shouldWarn()` limits the `rate_limited`
 * replies to one per second, so that refusing does not cost as much as answering.
 */
export class MessageRate {
  readonly #perSecond: number;
  #tokens: number;
  #at = performance.now();
  #warnedAt = -Infinity;

  constructor(perSecond: number) {
    this.#perSecond = perSecond;
    this.#tokens = perSecond;
  }

  take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.#perSecond, this.#tokens + ((now - this.#at) / 1000) * this.#perSecond);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  shouldWarn(): boolean {
    const now = performance.now();
    if (now - this.#warnedAt < 1000) return false;
    this.#warnedAt = now;
    return true;
  }
}
