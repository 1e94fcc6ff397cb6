/**
 * The Prometheus view of a sample (prom-client). Names follow node_exporter's style: counters end
 * in _total and carry cumulative kernel counters as read (a scrape never resets them), gauges are
 * current values. Per-NAPI series are labelled {device, queue, napi_id}: device and queue outlive a
 * NAPI's re-creation, napi_id tells instances apart; the kthread pid is deliberately not a label.
 */
import { type Metric, Registry } from "prom-client";
import { formatCpuList } from "../core/units.js";
import type { Sample } from "./sampler.js";

const NAPI_LABELS = ["device", "queue", "napi_id"] as const;
const CPU_LABEL = ["cpu"] as const;
const THREADED_VALUE = { disabled: 0, enabled: 1, "busy-poll": 2 } as const;

type Value = { labels: Record<string, string>; value: number; sharedLabels?: Record<string, string> };

/**
 * One empty object as every value's sharedLabels: the registry caches the rendering of shared
 * labels per object, and a fresh {} per value (its default) costs a cache entry per series.
 */
const NO_SHARED_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * A metric whose values are read off the latest sample when the registry renders it: the
 * registry's metric contract (name, help, type, aggregator, get()). prom-client's Counter has no
 * set() for kernel counters read as absolute values, and resetting and re-adding every label set
 * on each scrape costs more than rendering them.
 */
class SampleMetric {
  readonly aggregator = "sum";
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge",
    private readonly fill: (push: (v: Value) => void) => void,
  ) {}

  /** Not async: the registry awaits whatever get() returns, and a promise per metric per scrape is garbage. */
  get(): { name: string; help: string; type: string; aggregator: string; values: Value[] } {
    const values: Value[] = [];
    this.fill((v) => {
      v.sharedLabels = NO_SHARED_LABELS;
      values.push(v);
    });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** A registry whose every metric reads the latest sample given to `update`. */
export class ObserveMetrics {
  readonly registry = new Registry();
  private sample: Sample | undefined;
  private scrapeSeconds = 0;
  /**
   * Label objects reused from scrape to scrape (per NAPI, per CPU): the same series get the same
   * object, so a scrape does not rebuild (and the collector does not reclaim) them every second.
   */
  private napiLabelCache = new Map<string, { device: string; queue: string; napi_id: string }>();
  private readonly cpuLabelCache: { cpu: string }[] = [];
  /** What several metrics derive from the same sample, worked out once per sample. */
  private derived:
    | {
        threads: Sample["snapshot"]["napis"];
        names: Map<number, string>;
        devs: (readonly [string, NonNullable<ReturnType<Sample["snapshot"]["devices"]["get"]>>])[];
      }
    | undefined;

  constructor() {
    const latest = () => this.sample;
    const napiLabels = (n: Sample["snapshot"]["napis"][number]) => {
      const queue = n.rxQueues.length ? formatCpuList(n.rxQueues) : "";
      const key = `${n.ifname}/${n.id}`;
      const known = this.napiLabelCache.get(key);
      if (known?.queue === queue) return known;
      const labels = { device: n.ifname, queue, napi_id: String(n.id) };
      this.napiLabelCache.set(key, labels);
      return labels;
    };
    const cpuLabels = (cpu: number) => {
      this.cpuLabelCache[cpu] ??= { cpu: String(cpu) };
      return this.cpuLabelCache[cpu];
    };
    const derived = (s: Sample) => {
      if (this.derived) return this.derived;
      const names = new Map(s.snapshot.napis.map((n) => [n.ifindex, n.ifname]));
      const devs = [...new Set(s.snapshot.napis.map((n) => n.ifname))].flatMap((d) => {
        const c = s.snapshot.devices.get(d);
        return c ? [[d, c] as const] : [];
      });
      this.derived = { threads: s.snapshot.napis.filter((n) => n.task?.sched), names, devs };
      return this.derived;
    };
    const add =
      (type: "counter" | "gauge") =>
      <L extends string>(
        name: string,
        help: string,
        _labelNames: readonly L[],
        fill: (s: Sample, set: (labels: Record<L, string>, v: number) => void) => void,
      ) => {
        const metric = new SampleMetric(name, help, type, (push) => {
          const s = latest();
          if (s)
            fill(s, (labels, value) =>
              push({ labels, value: type === "counter" ? Math.max(0, value) : value }),
            );
        });
        this.registry.registerMetric(metric as unknown as Metric);
      };
    const counter = add("counter");
    const gauge = add("gauge");

    const threads = (s: Sample) => derived(s).threads;
    counter(
      "napilab_napi_thread_cpu_seconds_total",
      "CPU time used by the NAPI instance's kthread (/proc/<pid>/schedstat run time)",
      NAPI_LABELS,
      (s, set) => {
        for (const n of threads(s)) set(napiLabels(n), (n.task?.sched?.runNs ?? 0) / 1e9);
      },
    );
    counter(
      "napilab_napi_thread_wait_seconds_total",
      "Time the NAPI kthread was runnable but waited for a CPU (/proc/<pid>/schedstat run-queue wait)",
      NAPI_LABELS,
      (s, set) => {
        for (const n of threads(s)) set(napiLabels(n), (n.task?.sched?.waitNs ?? 0) / 1e9);
      },
    );
    counter(
      "napilab_napi_thread_context_switches_total",
      "Times the NAPI kthread was switched onto a CPU (/proc/<pid>/schedstat field 3)",
      NAPI_LABELS,
      (s, set) => {
        for (const n of threads(s)) set(napiLabels(n), n.task?.sched?.slices ?? 0);
      },
    );
    gauge(
      "napilab_napi_threaded",
      "Threaded mode of the NAPI instance: 0 softirq (disabled), 1 kthread (enabled), 2 busy-poll",
      ["device", "napi_id"] as const,
      (s, set) => {
        for (const n of s.snapshot.napis)
          set({ device: n.ifname, napi_id: String(n.id) }, THREADED_VALUE[n.threaded]);
      },
    );
    gauge(
      "napilab_napi_thread_last_cpu",
      "The CPU the NAPI kthread last ran on (/proc/<pid>/stat field 39)",
      NAPI_LABELS,
      (s, set) => {
        for (const n of s.snapshot.napis) if (n.task?.stat) set(napiLabels(n), n.task.stat.lastCpu);
      },
    );
    gauge(
      "napilab_napi_thread_allowed_cpus",
      "Number of CPUs the NAPI kthread may run on (Cpus_allowed_list)",
      NAPI_LABELS,
      (s, set) => {
        for (const n of s.snapshot.napis) if (n.pid !== null && n.cpus) set(napiLabels(n), n.cpus.length);
      },
    );
    counter(
      "napilab_queue_rx_packets_total",
      "Packets received on an rx queue (netdev qstats-get; only drivers with queue stats)",
      ["device", "queue"] as const,
      (s, set) => {
        const { names } = derived(s);
        for (const q of s.snapshot.queues)
          set({ device: names.get(q.ifindex) ?? `if${q.ifindex}`, queue: String(q.queue) }, q.rxPackets);
      },
    );
    counter(
      "napilab_queue_rx_bytes_total",
      "Bytes received on an rx queue (netdev qstats-get)",
      ["device", "queue"] as const,
      (s, set) => {
        const { names } = derived(s);
        for (const q of s.snapshot.queues)
          set({ device: names.get(q.ifindex) ?? `if${q.ifindex}`, queue: String(q.queue) }, q.rxBytes);
      },
    );
    counter(
      "napilab_queue_rx_drops_total",
      "Packets a driver dropped on an rx queue: hw drops, overruns and allocation failures (netdev qstats-get)",
      ["device", "queue"] as const,
      (s, set) => {
        const { names } = derived(s);
        for (const q of s.snapshot.queues)
          if (q.rxDrops !== null)
            set({ device: names.get(q.ifindex) ?? `if${q.ifindex}`, queue: String(q.queue) }, q.rxDrops);
      },
    );
    const devs = (s: Sample) => derived(s).devs;
    counter(
      "napilab_device_rx_packets_total",
      "Packets received by a device with NAPI instances (/proc/net/dev)",
      ["device"] as const,
      (s, set) => {
        for (const [device, c] of devs(s)) set({ device }, c.rxPackets);
      },
    );
    counter(
      "napilab_device_rx_bytes_total",
      "Bytes received by a device with NAPI instances (/proc/net/dev)",
      ["device"] as const,
      (s, set) => {
        for (const [device, c] of devs(s)) set({ device }, c.rxBytes);
      },
    );
    counter(
      "napilab_device_rx_dropped_total",
      "Received packets a device dropped (/proc/net/dev rx drop)",
      ["device"] as const,
      (s, set) => {
        for (const [device, c] of devs(s)) set({ device }, c.rxDropped);
      },
    );
    const softnet = (
      name: string,
      help: string,
      pick: (c: NonNullable<ReturnType<Sample["snapshot"]["softnet"]["get"]>>) => number,
    ) =>
      counter(name, help, CPU_LABEL, (s, set) => {
        for (const [cpu, c] of s.snapshot.softnet) set(cpuLabels(cpu), pick(c));
      });
    softnet(
      "napilab_softnet_processed_total",
      "Packets processed by the CPU's softnet (softnet_stat col 1)",
      (c) => c.processed,
    );
    softnet(
      "napilab_softnet_dropped_total",
      "Packets dropped because the CPU's backlog exceeded net.core.netdev_max_backlog (softnet_stat col 2)",
      (c) => c.dropped,
    );
    softnet(
      "napilab_softnet_times_squeezed_total",
      "Times net_rx_action stopped with work left: budget or time ran out (softnet_stat col 3)",
      (c) => c.timeSqueeze,
    );
    softnet(
      "napilab_softnet_received_rps_total",
      "RPS IPIs this CPU received (softnet_stat col 10)",
      (c) => c.receivedRps,
    );
    softnet(
      "napilab_softnet_flow_limit_count_total",
      "Packets dropped by the flow limit (softnet_stat col 11)",
      (c) => c.flowLimitCount,
    );
    gauge(
      "napilab_softnet_backlog_len",
      "Packets in the CPU's backlog queues now (softnet_stat col 12)",
      CPU_LABEL,
      (s, set) => {
        for (const [cpu, c] of s.snapshot.softnet)
          if (c.backlogLen !== null) set(cpuLabels(cpu), c.backlogLen);
      },
    );
    counter(
      "napilab_cpu_softirq_seconds_total",
      "Time the CPU spent in softirq context (/proc/stat)",
      CPU_LABEL,
      (s, set) => {
        for (const [cpu, c] of s.snapshot.cpuStat) set(cpuLabels(cpu), c.softirqNs / 1e9);
      },
    );
    counter(
      "napilab_cpu_irq_seconds_total",
      "Time the CPU spent in hard-irq context (/proc/stat)",
      CPU_LABEL,
      (s, set) => {
        for (const [cpu, c] of s.snapshot.cpuStat) set(cpuLabels(cpu), c.irqNs / 1e9);
      },
    );
    counter(
      "napilab_cpu_idle_seconds_total",
      "Time the CPU was idle, iowait included (/proc/stat)",
      CPU_LABEL,
      (s, set) => {
        for (const [cpu, c] of s.snapshot.cpuStat) set(cpuLabels(cpu), (c.idleNs + c.iowaitNs) / 1e9);
      },
    );
    counter(
      "napilab_softirq_net_rx_total",
      "NET_RX softirq runs on the CPU (/proc/softirqs)",
      CPU_LABEL,
      (s, set) => {
        for (const [cpu, v] of s.snapshot.netRx) set(cpuLabels(cpu), v);
      },
    );
    counter(
      "napilab_ksoftirqd_cpu_seconds_total",
      "CPU time of the CPU's ksoftirqd thread (/proc/<pid>/schedstat)",
      CPU_LABEL,
      (s, set) => {
        for (const [cpu, t] of s.snapshot.ksoftirqd) if (t.sched) set(cpuLabels(cpu), t.sched.runNs / 1e9);
      },
    );
    const udp = (name: string, help: string, pick: (u: NonNullable<Sample["snapshot"]["udp"]>) => number) =>
      counter(name, help, [] as const, (s, set) => {
        if (s.snapshot.udp) set({}, pick(s.snapshot.udp));
      });
    udp(
      "napilab_udp_rcvbuf_errors_total",
      "UDP datagrams dropped on full receive buffers (/proc/net/snmp RcvbufErrors)",
      (u) => u.rcvbufErrors,
    );
    udp("napilab_udp_in_errors_total", "UDP receive errors (/proc/net/snmp InErrors)", (u) => u.inErrors);
    udp(
      "napilab_udp_in_datagrams_total",
      "UDP datagrams delivered (/proc/net/snmp InDatagrams)",
      (u) => u.inDatagrams,
    );
    gauge(
      "napilab_diagnosis",
      "1 for every diagnosis the latest sample raised (kind, subject); see napilab top for the message",
      ["kind", "subject"] as const,
      (s, set) => {
        for (const d of s.diagnoses) set({ kind: d.kind, subject: d.subject }, 1);
      },
    );
    gauge(
      "napilab_scrape_duration_seconds",
      "Wall time napilab took to sample the kernel for this scrape",
      [],
      (_s, set) => set({}, this.scrapeSeconds),
    );
  }

  /** Make `s` the sample every metric reports; `seconds` is how long taking it took. */
  update(s: Sample, seconds: number): void {
    this.sample = s;
    this.scrapeSeconds = seconds;
    this.derived = undefined;
    // keep the label objects of the NAPI instances still there, drop those of instances gone
    const live = new Set(s.snapshot.napis.map((n) => `${n.ifname}/${n.id}`));
    for (const key of this.napiLabelCache.keys()) if (!live.has(key)) this.napiLabelCache.delete(key);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
