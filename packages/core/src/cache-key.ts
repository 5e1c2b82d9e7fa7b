/**
 * A cache key from a parsed query: its defined fields in name order, values URI-encoded (dates as
 * ISO strings), so that two requests asking the same thing share one entry whatever their order.
 */
export function cacheKeyOf(value: Record<string, unknown>): string {
  return Object.keys(value)
    .sort()
    .filter((k) => value[k] !== undefined)
    .map((k) => `${k}=${value[k] instanceof Date ? (value[k] as Date).toISOString() : encodeURIComponent(String(value[k]))}`)
    .join('&');
}
