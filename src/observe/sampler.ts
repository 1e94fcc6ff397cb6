/**
 * The sampling layer `napilab top` and `napilab exporter` share: it owns the NAPI source and the
 * /proc tree, remembers the previous snapshot and turns each new one into a view with diagnoses.
 */
import { type Diagnosis, diagnose, type Thresholds } from "./diagnose.js";
import { fixtureNapiSource, liveNapiSource, type NapiSource } from "./napi-source.js";
import { ProcFiles, type ProcTree, procTree } from "./proc-files.js";
import { computeView, type View } from "./rates.js";
import { findKsoftirqd, type Snapshot, takeSnapshot } from "./snapshot.js";

const KSOFTIRQD_RESCAN_NS = 60e9;
const monotonicNs = () => Number(process.hrtime.bigint());

export interface SamplerOptions {
  /** Observe devices of this named network namespace (undefined = napilab's own). */
  netns?: string | undefined;
  /**
   * Read /proc from this directory instead, and NAPI instances from its napilab-napis.json (a
   * fixture tree). Its /proc/net of the namespace is then `<procRoot>/net`.
   */
  procRoot?: string | undefined;
  thresholds?: Partial<Thresholds>;
  /** Monotonic clock in ns (tests). */
  now?: () => number;
}

export interface Sample {
  snapshot: Snapshot;
  /** Rates since the previous sample; null for the first one. */
  view: View | null;
  diagnoses: Diagnosis[];
}

export class Sampler {
  readonly tree: ProcTree;
  private readonly source: NapiSource;
  private readonly files = new ProcFiles();
  private ksoftirqd: Map<number, number>;
  /** When ksoftirqd threads were last looked up (a scan reads every task's comm: not every sample). */
  private ksoftirqdScanNs = 0;
  private prev: Snapshot | undefined;

  constructor(private readonly opts: SamplerOptions = {}) {
    if (opts.procRoot !== undefined) {
      this.tree = procTree(opts.procRoot, `${opts.procRoot}/net`);
      this.source = fixtureNapiSource(opts.procRoot);
    } else {
      this.tree = procTree("/proc");
      this.source = liveNapiSource(opts.netns);
    }
    this.ksoftirqd = findKsoftirqd(this.tree.root);
    this.ksoftirqdScanNs = monotonicNs();
  }

  /** Take a snapshot and compare it with the previous one. */
  sample(): Sample {
    const snapshot = takeSnapshot({
      tree: this.tree,
      files: this.files,
      source: this.source,
      netns: this.opts.procRoot === undefined ? this.opts.netns : undefined,
      ksoftirqd: this.ksoftirqd,
      now: this.opts.now,
    });
    // a CPU came online, or a ksoftirqd is gone: look the threads up again, at most once a minute
    // (in a container without the host's pids there are none to find, and scanning costs ms)
    if (
      monotonicNs() - this.ksoftirqdScanNs > KSOFTIRQD_RESCAN_NS &&
      (snapshot.cpus.some((c) => !this.ksoftirqd.has(c)) ||
        [...snapshot.ksoftirqd.values()].some((t) => t.sched === null))
    ) {
      this.ksoftirqd = findKsoftirqd(this.tree.root);
      this.ksoftirqdScanNs = monotonicNs();
    }
    const view = this.prev ? computeView(this.prev, snapshot) : null;
    this.prev = snapshot;
    return { snapshot, view, diagnoses: view ? diagnose(view, this.opts.thresholds) : [] };
  }

  close(): void {
    this.files.close();
    this.source.close();
  }
}

/** Two samples `windowMs` apart: the view `--once` prints. */
export async function measureOnce(
  opts: SamplerOptions,
  windowMs: number,
): Promise<{ view: View; diagnoses: Diagnosis[] }> {
  const s = new Sampler(opts);
  try {
    s.sample();
    await new Promise((r) => setTimeout(r, windowMs));
    const { view, diagnoses } = s.sample();
    return { view: view as View, diagnoses };
  } finally {
    s.close();
  }
}
