import { BlockList, isIP } from 'node:net';
import type { Middleware } from 'koa';
import type { RobianConfig } from '@robian/core';

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) → `10.0.0.1`. */
function plain(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/**
 * Which peers may tell Robian who the client is. With TRUST_PROXY=false nobody: the client is the
 * socket's peer and X-Forwarded-For is ignored. With TRUST_PROXY=true, the peers in TRUSTED_PROXIES
 * (addresses or CIDR ranges; loopback and private networks by default).
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly enabled: boolean;

  constructor(enabled: boolean, entries: readonly string[]) {
    this.enabled = enabled;
    for (const entry of entries) {
      const [address, prefix] = entry.split('/') as [string, string | undefined];
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.#list.addAddress(address, family);
      else this.#list.addSubnet(address, Number(prefix), family);
    }
  }

  trusts(address: string): boolean {
    const a = plain(address);
    const family = isIP(a);
    if (family === 0) return false;
    return this.#list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The client's address: the peer, unless the peer is a trusted proxy, in which case the
   * X-Forwarded-For chain is walked from the right (the entry the nearest proxy wrote) past every
   * trusted proxy; the first address that is not one is the client. Entries that are not IP
   * addresses end the walk (what a client wrote before the first proxy cannot be believed).
   */
  clientAddress(peer: string, forwardedFor: string | undefined): string {
    let client = plain(peer);
    if (!this.enabled || !forwardedFor || !this.trusts(client)) return client;
    const hops = forwardedFor.split(',').map((h) => plain(h.trim()));
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (isIP(hop) === 0) break;
      client = hop;
      if (!this.trusts(hop)) break;
    }
    return client;
  }

  static of(config: RobianConfig): TrustedProxies {
    return new TrustedProxies(config.trustProxy, config.trustedProxies);
  }
}

/** Sets `ctx.ip` (what the rate limiter and the logs see) from the peer and, behind a trusted proxy, X-Forwarded-For. */
export function clientAddress(proxies: TrustedProxies): Middleware {
  return (ctx, next) => {
    ctx.request.ip = proxies.clientAddress(ctx.req.socket.remoteAddress ?? '', ctx.get('x-forwarded-for') || undefined);
    return next();
  };
}
