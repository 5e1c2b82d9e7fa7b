import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration } from 'prom-client';
import type { Disposer } from './events.ts';

/**
 * Prometheus metrics (prom-client). Each registry instance is separate, so two Robian hosts in
 * one process (tests, embedding) do not collide. Metrics a plugin creates are removed when it stops.
 */
export class Metrics {
  readonly registry = new Registry();
  #schedules: ScheduleMetrics | undefined;

  /**
   * The scheduled tasks' clocks, shared by every plugin (one set of series, a `task` label each):
   * `robian_schedule_last_success_timestamp_seconds{task}`, `robian_schedule_next_run_timestamp_seconds{task}`,
   * `robian_schedule_runs_total{task,outcome}`. The "scheduler task overdue" alert reads them
   * (docs/operations.md § Metrics).
   */
  schedules(): ScheduleMetrics {
    this.#schedules ??= new ScheduleMetrics(this);
    return this.#schedules;
  }

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
  /** The shared scheduled-task clocks (`Metrics.schedules()`); the tasks this plugin names are forgotten at its stop. */
  schedules(): Pick<ScheduleMetrics, 'due' | 'ran'> {
    const shared = this.#metrics.schedules();
    const tasks = this.#tasks;
    return {
      due(task, next) {
        tasks.add(task);
        shared.due(task, next);
      },
      ran(task, ok, next) {
        tasks.add(task);
        shared.ran(task, ok, next);
      },
    };
  }
  readonly #tasks = new Set<string>();
  dispose: Disposer = () => {
    for (const name of this.#names.splice(0)) this.#metrics.remove(name);
    for (const task of this.#tasks) this.#metrics.schedules().forget(task);
    this.#tasks.clear();
  };
}

/** See `Metrics.schedules()`. A task name is `plugin.task`, e.g. `assemblee.agenda-sync`. */
export class ScheduleMetrics {
  readonly #last: Gauge<'task'>;
  readonly #next: Gauge<'task'>;
  readonly #runs: Counter<'task' | 'outcome'>;

  constructor(metrics: Metrics) {
    this.#last = metrics.gauge({ name: 'robian_schedule_last_success_timestamp_seconds', help: 'Unix time of the last successful run of a scheduled task', labelNames: ['task'] });
    this.#next = metrics.gauge({ name: 'robian_schedule_next_run_timestamp_seconds', help: 'Unix time a scheduled task is next due', labelNames: ['task'] });
    this.#runs = metrics.counter({ name: 'robian_schedule_runs_total', help: 'Runs of scheduled tasks by outcome (success, failure)', labelNames: ['task', 'outcome'] });
  }

  /** The task is due at `next` (set when it is scheduled). */
  due(task: string, next: Date): void {
    this.#next.set({ task }, next.getTime() / 1000);
  }

  /** A run ended; `next` is when it is due again. */
  ran(task: string, ok: boolean, next?: Date): void {
    this.#runs.inc({ task, outcome: ok ? 'success' : 'failure' });
    if (ok) this.#last.set({ task }, Date.now() / 1000);
    if (next) this.due(task, next);
  }

  /** The task is gone (its plugin stopped): its series go too. */
  forget(task: string): void {
    this.#last.remove({ task });
    this.#next.remove({ task });
    this.#runs.remove({ task, outcome: 'success' });
    this.#runs.remove({ task, outcome: 'failure' });
  }
}
