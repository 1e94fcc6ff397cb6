/**
 * Diagnoses: what an operator should look at, read off one view. Each is one line that carries the
 * numbers behind it, plus those numbers as fields for --json and alerting.
 */
import { formatCpuList } from "../core/units.js";
import type { NapiView, View } from "./rates.js";

export type DiagnosisKind =
  | "napi-threads-share-cpu"
  | "ksoftirqd-saturated"
  | "napi-thread-starved"
  | "softnet-squeeze"
  | "softnet-drops"
  | "device-rx-drops"
  | "udp-rcvbuf-errors"
  | "napi-settings-lost";

export interface Diagnosis {
  kind: DiagnosisKind;
  /** What it is about: a CPU ("cpu1"), a device ("vb"), a NAPI ("vb/8193") or "udp". */
  subject: string;
  message: string;
  values: Record<string, number>;
}

/** Thresholds, in % of one CPU or events/s. The defaults are what the docs describe. */
export interface Thresholds {
  /** A NAPI thread counts as busy from this CPU share. */
  busyThreadPct: number;
  /** Another CPU counts as idle when at least this share of it was idle. */
  idleCpuPct: number;
  /** ksoftirqd is saturated from this CPU share. */
  ksoftirqdPct: number;
  /** A thread is starved when it waited more than it ran and at least this share of the interval. */
  starvedWaitPct: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  busyThreadPct: 10,
  idleCpuPct: 30,
  ksoftirqdPct: 80,
  starvedWaitPct: 5,
};

const p = (v: number) => `${Math.round(v)}%`;
const r = (v: number) => (v >= 100 ? String(Math.round(v)) : v.toFixed(1));
const label = (n: NapiView) => n.kthread ?? `${n.ifname}/${n.id}`;

function sharedCpu(view: View, t: Thresholds, online: number[]): Diagnosis[] {
  const out: Diagnosis[] = [];
  const byCpu = new Map<number, NapiView[]>();
  for (const n of view.napis)
    if (n.pid !== null && n.cpu !== null && (n.cpuPct ?? 0) >= t.busyThreadPct)
      byCpu.set(n.cpu, [...(byCpu.get(n.cpu) ?? []), n]);
  const idleOf = (cpu: number) => 100 - (view.cpus.find((c) => c.cpu === cpu)?.busyPct ?? 100);
  for (const [cpu, group] of [...byCpu].sort((a, b) => a[0] - b[0])) {
    if (group.length < 2) continue;
    const allowed = new Set(group.flatMap((n) => n.cpusAllowed ?? []));
    allowed.delete(cpu);
    const pinnedHere = allowed.size === 0;
    const candidates = (pinnedHere ? online.filter((c) => c !== cpu) : [...allowed]).filter(
      (c) => idleOf(c) >= t.idleCpuPct,
    );
    if (candidates.length === 0) continue;
    const best = candidates.reduce((a, b) => (idleOf(b) > idleOf(a) ? b : a));
    const total = group.reduce((s, n) => s + (n.cpuPct ?? 0), 0);
    const list = group.map((n) => `${label(n)} ${p(n.cpuPct ?? 0)}`).join(", ");
    const move = group[group.length - 1] as NapiView;
    out.push({
      kind: "napi-threads-share-cpu",
      subject: `cpu${cpu}`,
      message:
        `CPU ${cpu} runs ${group.length} busy NAPI threads (${list}; ${p(total)} together)` +
        `${pinnedHere ? `, all pinned to it,` : ""} while CPU ${formatCpuList(candidates)} ${candidates.length > 1 ? "are" : "is"} ` +
        `${p(idleOf(best))} idle: spread them, e.g. napilab napi pin ${move.ifname}/${move.id} --cpus ${best}`,
      values: { cpu, threads: group.length, threadsCpuPct: total, idleCpu: best, idlePct: idleOf(best) },
    });
  }
  return out;
}

function ksoftirqd(view: View, t: Thresholds): Diagnosis[] {
  return view.cpus
    .filter((c) => (c.ksoftirqdPct ?? 0) >= t.ksoftirqdPct)
    .map((c) => ({
      kind: "ksoftirqd-saturated" as const,
      subject: `cpu${c.cpu}`,
      message:
        `ksoftirqd/${c.cpu} used ${p(c.ksoftirqdPct ?? 0)} of CPU ${c.cpu}: softirq work overflows to the thread ` +
        `(softirq ${p(c.softirqPct)}, ${r(c.squeezesPerSec)} squeezes/s, ${r(c.dropsPerSec)} backlog drops/s)`,
      values: {
        cpu: c.cpu,
        ksoftirqdPct: c.ksoftirqdPct ?? 0,
        softirqPct: c.softirqPct,
        squeezesPerSec: c.squeezesPerSec,
      },
    }));
}

function starved(view: View, t: Thresholds): Diagnosis[] {
  return view.napis
    .filter(
      (n) => n.pid !== null && (n.waitPct ?? 0) >= t.starvedWaitPct && (n.waitPct ?? 0) > (n.cpuPct ?? 0),
    )
    .map((n) => ({
      kind: "napi-thread-starved" as const,
      subject: `${n.ifname}/${n.id}`,
      message:
        `${label(n)} waited for a CPU ${p(n.waitPct ?? 0)} of the time and ran ${p(n.cpuPct ?? 0)}` +
        `${n.cpu === null ? "" : ` (last on CPU ${n.cpu})`}: other tasks compete with it; ` +
        `give it a CPU of its own or a higher class (napilab napi pin/sched ${n.ifname}/${n.id})`,
      values: { napiId: n.id, waitPct: n.waitPct ?? 0, cpuPct: n.cpuPct ?? 0 },
    }));
}

function softnet(view: View): Diagnosis[] {
  const out: Diagnosis[] = [];
  for (const c of view.cpus) {
    if (c.squeezesPerSec > 0)
      out.push({
        kind: "softnet-squeeze",
        subject: `cpu${c.cpu}`,
        message:
          `CPU ${c.cpu}: ${r(c.squeezesPerSec)} time squeezes/s (net_rx_action stopped with work left: ` +
          `netdev_budget or netdev_budget_usecs ran out), ${r(c.processedPerSec)} packets/s processed`,
        values: { cpu: c.cpu, squeezesPerSec: c.squeezesPerSec, processedPerSec: c.processedPerSec },
      });
    if (c.dropsPerSec > 0)
      out.push({
        kind: "softnet-drops",
        subject: `cpu${c.cpu}`,
        message:
          `CPU ${c.cpu}: ${r(c.dropsPerSec)} backlog drops/s (input queue over net.core.netdev_max_backlog` +
          `${c.backlogLen === null ? "" : `, ${c.backlogLen} queued now`})`,
        values: { cpu: c.cpu, dropsPerSec: c.dropsPerSec },
      });
  }
  for (const d of view.devices)
    if (d.rxDropsPerSec > 0)
      out.push({
        kind: "device-rx-drops",
        subject: d.ifname,
        message: `${d.ifname}: ${r(d.rxDropsPerSec)} rx drops/s at ${r(d.rxPps)} packets/s`,
        values: { rxDropsPerSec: d.rxDropsPerSec, rxPps: d.rxPps },
      });
  if (view.udp && view.udp.rcvbufErrorsPerSec > 0)
    out.push({
      kind: "udp-rcvbuf-errors",
      subject: "udp",
      message:
        `UDP: ${r(view.udp.rcvbufErrorsPerSec)} RcvbufErrors/s (receive buffers full: receivers fall behind), ` +
        `${r(view.udp.inErrorsPerSec)} InErrors/s`,
      values: { ...view.udp },
    });
  return out;
}

/** A threaded device whose NAPIs disagree: some lost the mode, affinity or class the others have. */
function settingsLost(view: View, online: number[]): Diagnosis[] {
  const out: Diagnosis[] = [];
  const devices = [...new Set(view.napis.map((n) => n.ifname))];
  for (const dev of devices) {
    const all = view.napis.filter((n) => n.ifname === dev);
    if (all.length < 2) continue;
    const threaded = all.filter((n) => n.threaded !== "disabled");
    const softirq = all.filter((n) => n.threaded === "disabled");
    if (threaded.length > 0 && softirq.length > 0 && threaded.length >= softirq.length)
      for (const n of softirq)
        out.push({
          kind: "napi-settings-lost",
          subject: `${dev}/${n.id}`,
          message:
            `${dev}/${n.id} runs in softirq while ${threaded.length} of the device's ${all.length} NAPIs are threaded ` +
            `(re-created by the driver?): napilab napi set ${dev}/${n.id} --threaded enabled`,
          values: { napiId: n.id, threadedSiblings: threaded.length, napis: all.length },
        });
    const isAll = (n: NapiView) => n.cpusAllowed !== null && n.cpusAllowed.length >= online.length;
    const pinned = threaded.filter((n) => n.cpusAllowed !== null && !isAll(n));
    if (pinned.length > 0)
      for (const n of threaded.filter(isAll))
        out.push({
          kind: "napi-settings-lost",
          subject: `${dev}/${n.id}`,
          message:
            `${label(n)} may run on every CPU while ${pinned.length} sibling thread(s) are pinned ` +
            `(${pinned.map((s) => `${s.id}: ${formatCpuList(s.cpusAllowed ?? [])}`).join(", ")}): its affinity was reset`,
          values: { napiId: n.id, pinnedSiblings: pinned.length },
        });
    const classes = threaded.map((n) => n.policy?.split(" ")[0] ?? null);
    const rt = threaded.filter(
      (_, i) => classes[i] === "fifo" || classes[i] === "rr" || classes[i] === "deadline",
    );
    if (rt.length > 0)
      threaded.forEach((n, i) => {
        if (classes[i] === "other")
          out.push({
            kind: "napi-settings-lost",
            subject: `${dev}/${n.id}`,
            message: `${label(n)} is in class other while ${rt.length} sibling thread(s) run ${rt[0]?.policy}: its scheduling class was reset`,
            values: { napiId: n.id, rtSiblings: rt.length },
          });
      });
  }
  return out;
}

export function diagnose(view: View, thresholds: Partial<Thresholds> = {}): Diagnosis[] {
  const t = { ...DEFAULT_THRESHOLDS, ...thresholds };
  const online = view.cpus.map((c) => c.cpu);
  return [
    ...sharedCpu(view, t, online),
    ...ksoftirqd(view, t),
    ...starved(view, t),
    ...softnet(view),
    ...settingsLost(view, online),
  ];
}
