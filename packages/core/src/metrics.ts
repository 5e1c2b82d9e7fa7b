import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration } from 'prom-client';
import type { Disposer } from './events.ts';

/**
 * Prometheus metrics (prom-client). Each registry instance is separate, so two Robian hosts in
 * one process (tests, embedding) do not collide. Metrics a plugin creates are removed when it stops.
 */
export class Metrics {
  readonly registry = new Registry();

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'robian_process_' });
  }

  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return new Counter({ ...config, registers: [this.registry] });
  }

  gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return new Gauge({ ...config, registers: [this.registry] });
  }

  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return new Histogram({ ...config, registers: [this.registry] });
  }

  remove(name: string): void {
    this.registry.removeSingleMetric(name);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The metrics view a plugin gets: what it creates is recorded and removed at its stop. */
export class PluginMetrics {
  readonly #metrics: Metrics;
  readonly #names: string[] = [];
  constructor(metrics: Metrics) {
    this.#metrics = metrics;
  }
  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    this.#names.push(config.name);
    return this.#metrics.counter(config);
  }
  gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    this.#names.push(config.name);
    return this.#metrics.gauge(config);
  }
  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    this.#names.push(config.name);
    return this.#metrics.histogram(config);
  }
  dispose: Disposer = () => {
    for (const name of this.#names.splice(0)) this.#metrics.remove(name);
  };
}
