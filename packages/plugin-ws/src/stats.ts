import type { PluginMetrics } from '@robian/core';

type Counter<L extends string = string> = ReturnType<PluginMetrics['counter']> & { inc(labels: Partial<Record<L, string>>, value?: number): void; inc(value?: number): void };

export type Protocol = 'socketio' | 'ws';
export const PROTOCOLS: readonly Protocol[] = ['socketio', 'ws'];

type PerProtocol = Record<Protocol, number>;
const zero = (): PerProtocol => ({ socketio: 0, ws: 0 });

/** Live figures the metrics and the health report read. */
export interface LiveFigures {
  connections(protocol: Protocol): number;
  subscriptions(protocol: Protocol): number;
  redis(): 'disabled' | 'up' | 'down';
}

/**
 * The plugin's counters, kept twice: as Prometheus metrics (`/metrics`) and as plain numbers
 * for `/health/detailed`.
 */
export class WsStats {
  readonly accepted = zero();
  readonly refused = zero();
  readonly sent = zero();
  readonly dropped = zero();
  readonly disconnects: Record<string, number> = {};
  readonly clientErrors = zero();
  published = 0;
  progressCoalesced = 0;
  bridgeOut = 0;
  bridgeIn = 0;
  bridgeErrors = 0;

  readonly #c: {
    accepted: Counter<'protocol'>;
    refused: Counter<'protocol' | 'reason'>;
    sent: Counter<'protocol'>;
    dropped: Counter<'protocol' | 'reason'>;
    disconnects: Counter<'protocol' | 'reason'>;
    clientErrors: Counter<'protocol' | 'code'>;
    published: Counter<'type'>;
    coalesced: Counter;
    bridge: Counter<'direction'>;
    bridgeErrors: Counter;
  };

  constructor(metrics: PluginMetrics, live: LiveFigures) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    metrics.gauge({
      name: 'robian_ws_connections',
      help: 'Open real-time connections on this instance, by protocol',
      labelNames: ['protocol'],
      collect() {
        for (const p of PROTOCOLS) this.set({ protocol: p }, live.connections(p));
      },
    });
    metrics.gauge({
      name: 'robian_ws_subscriptions',
      help: 'Channel subscriptions of the open connections on this instance, by protocol',
      labelNames: ['protocol'],
      collect() {
        for (const p of PROTOCOLS) this.set({ protocol: p }, live.subscriptions(p));
      },
    });
    metrics.gauge({
      name: 'robian_ws_redis_up',
      help: '1 when the Redis link (socket.io adapter and /ws bridge) is up, 0 when down, -1 when not configured',
      collect() {
        const r = live.redis();
        this.set(r === 'disabled' ? -1 : r === 'up' ? 1 : 0);
      },
    });
    this.#c = {
      accepted: metrics.counter({ name: 'robian_ws_connections_total', help: 'Real-time connections accepted', labelNames: ['protocol'] }),
      refused: metrics.counter({ name: 'robian_ws_connections_refused_total', help: 'Real-time connections refused', labelNames: ['protocol', 'reason'] }),
      // the two counters of the delivery hot path are read from the plain numbers at scrape time
      sent: metrics.counter({
        name: 'robian_ws_messages_sent_total',
        help: 'Messages written to clients (events and replies)',
        labelNames: ['protocol'],
        collect() {
          this.reset();
          for (const p of PROTOCOLS) this.inc({ protocol: p }, self.sent[p]);
        },
      }),
      dropped: metrics.counter({
        name: 'robian_ws_messages_dropped_total',
        help: 'Messages not written to a client because its send buffer was over the limit',
        labelNames: ['protocol', 'reason'],
        collect() {
          this.reset();
          for (const p of PROTOCOLS) this.inc({ protocol: p, reason: 'backpressure' }, self.dropped[p]);
        },
      }),
      disconnects: metrics.counter({
        name: 'robian_ws_disconnects_total',
        help: 'Connections closed by the server (heartbeat: no pong; slow: send buffer full too long; shutdown)',
        labelNames: ['protocol', 'reason'],
      }),
      clientErrors: metrics.counter({ name: 'robian_ws_client_errors_total', help: 'Error replies sent for bad client messages', labelNames: ['protocol', 'code'] }),
      published: metrics.counter({ name: 'robian_ws_events_published_total', help: 'Messages published by this instance, by type (one per channel)', labelNames: ['type'] }),
      coalesced: metrics.counter({ name: 'robian_ws_progress_coalesced_total', help: 'extraction_progress messages replaced by a newer one (throttling)' }),
      bridge: metrics.counter({ name: 'robian_ws_bridge_messages_total', help: '/ws messages relayed through Redis to or from other instances', labelNames: ['direction'] }),
      bridgeErrors: metrics.counter({ name: 'robian_ws_bridge_errors_total', help: 'Redis publish failures (message not relayed to other instances)' }),
    };
  }

  accept(p: Protocol): void {
    this.accepted[p]++;
    this.#c.accepted.inc({ protocol: p });
  }
  refuse(p: Protocol, reason: string): void {
    this.refused[p]++;
    this.#c.refused.inc({ protocol: p, reason });
  }
  send(p: Protocol): void {
    this.sent[p]++;
  }
  drop(p: Protocol): void {
    this.dropped[p]++;
  }
  disconnect(p: Protocol, reason: string): void {
    const key = `${p}:${reason}`;
    this.disconnects[key] = (this.disconnects[key] ?? 0) + 1;
    this.#c.disconnects.inc({ protocol: p, reason });
  }
  clientError(p: Protocol, code: string): void {
    this.clientErrors[p]++;
    this.#c.clientErrors.inc({ protocol: p, code });
  }
  publish(type: string): void {
    this.published++;
    this.#c.published.inc({ type });
  }
  coalesce(n: number): void {
    if (n <= 0) return;
    this.progressCoalesced += n;
    this.#c.coalesced.inc(n);
  }
  bridge(direction: 'in' | 'out'): void {
    if (direction === 'in') this.bridgeIn++;
    else this.bridgeOut++;
    this.#c.bridge.inc({ direction });
  }
  bridgeError(): void {
    this.bridgeErrors++;
    this.#c.bridgeErrors.inc();
  }
}
