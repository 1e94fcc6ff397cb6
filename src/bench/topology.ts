/**
 * The bench's own test bed: a sender namespace and a receiver namespace joined by a veth pair,
 * with addresses from 198.18.0.0/15 (RFC 2544 benchmarking range) and GRO on the receiving end,
 * which is what gives a veth a NAPI instance (veth `veth_napi_add` runs when GRO or XDP is on).
 *
 * Every run records what it creates in a state file under the state directory (/run/napilab/bench,
 * or $NAPILAB_STATE_DIR) *before* creating it, so `napilab bench --cleanup` can remove leftovers of
 * a crashed run and never anything else. A run holds an flock(2) on the directory's lock file for
 * its whole life: the kernel releases it when the process dies, however it dies, so two runs can
 * never overlap and a crashed run never blocks the next one by its lock.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename } from "node:path";
import { HostError } from "../core/errors.js";
import { check, lastErrno, libc, SysError } from "../linux/libc.js";

/** Where runs are recorded; NAPILAB_STATE_DIR overrides it (tests use a private one). */
export function stateDir(): string {
  return process.env.NAPILAB_STATE_DIR || "/run/napilab/bench";
}
const NETNS_DIR = "/run/netns";

export const TX_IFNAME = "nl-tx";
export const RX_IFNAME = "nl-rx";
export const TX_ADDR = "198.18.0.1";
export const RX_ADDR = "198.18.0.2";
const PREFIX_LEN = 30;

export interface Topology {
  runId: string;
  txNetns: string;
  rxNetns: string;
  txIfname: string;
  rxIfname: string;
  txAddr: string;
  rxAddr: string;
}

interface StateFile {
  runId: string;
  pid: number;
  /** The process's start time (/proc/<pid>/stat field 22, clock ticks since boot): a reused pid differs. */
  pidStart: string | null;
  created: string;
  namespaces: string[];
}

/** A fresh run id: short, lower-case, unique enough that concurrent runs and tests never collide. */
export function newRunId(prefix = ""): string {
  return `${prefix}${Date.now().toString(36).slice(-5)}${randomBytes(2).toString("hex")}`;
}

export function namespacesOf(runId: string): { tx: string; rx: string } {
  return { tx: `napilab-${runId}-tx`, rx: `napilab-${runId}-rx` };
}

function ip(args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.error) throw new HostError(`cannot run 'ip' (install iproute2): ${r.error.message}`);
  if (r.status !== 0)
    throw new HostError(`ip ${args.join(" ")}: ${(r.stderr || "").trim() || `exit ${r.status}`}`);
}

function inNetns(netns: string, cmd: string[]): void {
  const r = spawnSync("ip", ["netns", "exec", netns, ...cmd], { encoding: "utf8" });
  if (r.error) throw new HostError(`cannot run ${cmd[0]}: ${r.error.message}`);
  if (r.status !== 0)
    throw new HostError(`${cmd.join(" ")} in ${netns}: ${(r.stderr || "").trim() || `exit ${r.status}`}`);
}

function statePath(runId: string): string {
  return `${stateDir()}/${runId}.json`;
}

/** Field 22 of /proc/<pid>/stat (starttime), or null when there is no such process. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[22 - 3] ?? null;
  } catch {
    return null;
  }
}

/** A run is live when its pid exists with the start time recorded for it (a reused pid is not it). */
function runAlive(s: StateFile): boolean {
  if (!Number.isInteger(s.pid) || s.pid <= 0) return false;
  if (s.pid === process.pid) return false;
  const start = processStartTime(s.pid);
  return start !== null && (s.pidStart === null || s.pidStart === undefined || start === s.pidStart);
}

function accessError(err: unknown, what: string): HostError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  const hint = code === "EACCES" || code === "EPERM" ? " (run napilab as root)" : "";
  return new HostError(`cannot ${what}: ${code}${hint}`);
}

/** Runs recorded in the state directory, with whether the process that made them still lives. */
export function recordedRuns(): (StateFile & { alive: boolean })[] {
  const dir = stateDir();
  if (!existsSync(dir)) return [];
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json"));
  } catch (err) {
    throw accessError(err, `read napilab's run records in ${dir}`);
  }
  const runs: (StateFile & { alive: boolean })[] = [];
  for (const f of names) {
    let text: string;
    try {
      text = readFileSync(`${dir}/${f}`, "utf8");
    } catch (err) {
      throw accessError(err, `read run record ${dir}/${f}`);
    }
    try {
      const s = JSON.parse(text) as StateFile;
      if (typeof s.runId !== "string" || !Array.isArray(s.namespaces)) continue;
      runs.push({ ...s, pidStart: s.pidStart ?? null, alive: runAlive(s) });
    } catch {
      // an unreadable state file is not ours to interpret; leave it
    }
  }
  return runs;
}

const LOCK_EX = 2;
const LOCK_NB = 4;

/** The exclusive lock a run holds for its whole life; the kernel drops it when the process dies. */
export interface RunLock {
  release(): void;
}

function openLockFile(): number {
  const dir = stateDir();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    return openSync(`${dir}/lock`, "a");
  } catch (err) {
    throw accessError(err, `open napilab's lock file in ${dir}`);
  }
}

/** flock(LOCK_EX | LOCK_NB) on the state directory's lock file; null when another process holds it. */
export function tryLock(): RunLock | null {
  const fd = openLockFile();
  try {
    check("flock", libc.flock(fd, LOCK_EX | LOCK_NB));
  } catch (err) {
    closeSync(fd);
    if (err instanceof SysError && err.code === "EWOULDBLOCK") return null;
    if (err instanceof SysError && err.code === "EAGAIN") return null;
    throw err;
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      closeSync(fd);
    },
  };
}

/**
 * Take the run lock, then refuse to start over a crashed run's leftovers. Returns the lock, which
 * the caller releases when the run has removed everything.
 */
export function lockForRun(): RunLock {
  const lock = tryLock();
  if (!lock) {
    const live = recordedRuns().filter((r) => r.alive);
    const who = live.map((r) => `${r.runId}, pid ${r.pid}`).join("; ") || "no record yet";
    throw new HostError(`another napilab bench run (${who}) is in progress; wait for it to end`);
  }
  try {
    for (const run of recordedRuns()) {
      // a live run without the lock is one of an older napilab that did not take it
      if (run.alive)
        throw new HostError(
          `another napilab bench run (${run.runId}, pid ${run.pid}) is in progress; wait for it to end`,
        );
      const present = run.namespaces.filter((n) => existsSync(`${NETNS_DIR}/${n}`));
      throw new HostError(
        `leftover topology of crashed bench run ${run.runId} (${present.join(", ") || "state file only"}); ` +
          "remove it with 'napilab bench --cleanup'",
      );
    }
  } catch (err) {
    lock.release();
    throw err;
  }
  return lock;
}

/** Build the topology of a run. On any failure, what was built is removed before the error is thrown. */
export function createTopology(runId: string): Topology {
  const ns = namespacesOf(runId);
  mkdirSync(stateDir(), { recursive: true });
  const state: StateFile = {
    runId,
    pid: process.pid,
    pidStart: processStartTime(process.pid),
    created: new Date().toISOString(),
    namespaces: [ns.tx, ns.rx],
  };
  writeFileSync(statePath(runId), `${JSON.stringify(state)}\n`);
  try {
    buildNamespaces(runId);
  } catch (err) {
    destroyRun(runId);
    throw err;
  }
  return {
    runId,
    txNetns: ns.tx,
    rxNetns: ns.rx,
    txIfname: TX_IFNAME,
    rxIfname: RX_IFNAME,
    txAddr: TX_ADDR,
    rxAddr: RX_ADDR,
  };
}

/**
 * Tear the namespaces down and build them again, keeping the run's record: every cell starts from
 * a clean kernel state (no IP fragment queues, socket backlogs or counters left by the cell before;
 * half-reassembled datagrams would otherwise hold ipfrag memory for ipfrag_time, 30 s).
 */
export function rebuildTopology(runId: string): void {
  removeNamespaces(runId);
  try {
    buildNamespaces(runId);
  } catch (err) {
    destroyRun(runId);
    throw err;
  }
}

function buildNamespaces(runId: string): void {
  const ns = namespacesOf(runId);
  ip(["netns", "add", ns.tx]);
  ip(["netns", "add", ns.rx]);
  // created directly inside the namespaces, so the host's own device names are never involved
  ip(["link", "add", TX_IFNAME, "netns", ns.tx, "type", "veth", "peer", "name", RX_IFNAME, "netns", ns.rx]);
  ip(["-n", ns.tx, "addr", "add", `${TX_ADDR}/${PREFIX_LEN}`, "dev", TX_IFNAME]);
  ip(["-n", ns.rx, "addr", "add", `${RX_ADDR}/${PREFIX_LEN}`, "dev", RX_IFNAME]);
  ip(["-n", ns.tx, "link", "set", "lo", "up"]);
  ip(["-n", ns.rx, "link", "set", "lo", "up"]);
  ip(["-n", ns.rx, "link", "set", RX_IFNAME, "up"]);
  ip(["-n", ns.tx, "link", "set", TX_IFNAME, "up"]);
  // veth has NAPI only with GRO (or XDP) on: veth_set_features -> veth_napi_enable
  inNetns(ns.rx, ["ethtool", "-K", RX_IFNAME, "gro", "on"]);
  // with TSO on the sending end, veth_xmit hands locally generated UDP to the peer's backlog
  // (netif_rx) instead of its NAPI (veth_skb_is_eligible_for_gro), and threaded NAPI would idle
  inNetns(ns.tx, ["ethtool", "-K", TX_IFNAME, "tso", "off"]);
  // static neighbour entry: no ARP exchange racing the first packets of a cell
  const rxMac = readMac(ns.rx, RX_IFNAME);
  ip(["-n", ns.tx, "neigh", "replace", RX_ADDR, "lladdr", rxMac, "dev", TX_IFNAME, "nud", "permanent"]);
}

/** The MAC addresses of the run's veth pair as they are now (each cell's pair is new). */
export function readMacs(runId: string): { tx: string; rx: string } {
  const ns = namespacesOf(runId);
  return { tx: readMac(ns.tx, TX_IFNAME), rx: readMac(ns.rx, RX_IFNAME) };
}

/**
 * A pfifo qdisc on the sending veth. With a qdisc, veth_xmit stops the queue when the peer's
 * ptr_ring is full (and the peer's NAPI wakes it) instead of dropping the frame: the sender is
 * held back rather than losing fragments. Without one (noqueue, veth's default) a full ring drops.
 */
export function attachTxQdisc(runId: string): void {
  inNetns(namespacesOf(runId).tx, [
    "tc",
    "qdisc",
    "replace",
    "dev",
    TX_IFNAME,
    "root",
    "pfifo",
    "limit",
    "1000",
  ]);
}

function readMac(netns: string, ifname: string): string {
  const r = spawnSync("ip", ["-n", netns, "-j", "link", "show", ifname], { encoding: "utf8" });
  const parsed = JSON.parse(r.stdout || "[]") as { address?: string }[];
  const mac = parsed[0]?.address;
  if (!mac) throw new HostError(`cannot read the MAC address of ${ifname} in ${netns}`);
  return mac;
}

/** The run's recorded namespace names (only names carrying its own prefix). */
function recordedNamespaces(runId: string): string[] {
  const ns = namespacesOf(runId);
  let recorded: string[] = [ns.tx, ns.rx];
  try {
    recorded = (JSON.parse(readFileSync(statePath(runId), "utf8")) as StateFile).namespaces;
  } catch {
    // no state file: fall back to the names this run id implies
  }
  return recorded.filter((name) => name.startsWith(`napilab-${runId}-`));
}

/** Delete the run's namespaces; returns those removed and those that are still there. */
function removeNamespaces(runId: string): { removed: string[]; failed: { name: string; why: string }[] } {
  const removed: string[] = [];
  const failed: { name: string; why: string }[] = [];
  for (const name of recordedNamespaces(runId)) {
    if (!existsSync(`${NETNS_DIR}/${name}`)) continue;
    const r = spawnSync("ip", ["netns", "del", name], { encoding: "utf8" });
    if (r.status === 0 && !existsSync(`${NETNS_DIR}/${name}`)) removed.push(name);
    else
      failed.push({
        name,
        why: (r.stderr || "").trim().split("\n")[0] || r.error?.message || `ip exit ${r.status}`,
      });
  }
  return { removed, failed };
}

/**
 * Remove a run's namespaces (the veth pair goes with them) and then its state file, which is kept
 * when a namespace could not be removed, so a later --cleanup still knows about it. Only names
 * recorded for this run and matching its own prefix are touched. Synchronous, so it also works
 * from a signal handler just before exit.
 */
export function destroyRun(runId: string): { removed: string[]; failed: { name: string; why: string }[] } {
  const r = removeNamespaces(runId);
  if (r.failed.length === 0) rmSync(statePath(runId), { force: true });
  return r;
}

/** sysfs mounts and their directories under the temp directory, as napilab versions before 0.2 made them. */
function scanSysfsLeftovers(): { mounts: string[]; dirs: string[] } {
  const isOurs = (p: string) => /^napilab-sysfs-[A-Za-z0-9]{6}$/.test(basename(p));
  const tmp = tmpdir().replace(/\/+$/, "");
  const mounts: string[] = [];
  try {
    for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
      const f = line.split(" ");
      const point = (f[4] ?? "").replace(/\\040/g, " ");
      if (f[f.indexOf("-") + 1] === "sysfs" && isOurs(point) && point.startsWith(`${tmp}/`))
        mounts.push(point);
    }
  } catch {
    // no /proc: nothing to find
  }
  const dirs: string[] = [];
  try {
    for (const n of readdirSync(tmp)) if (isOurs(n)) dirs.push(`${tmp}/${n}`);
  } catch {
    // unreadable: nothing to find there
  }
  for (const m of mounts) if (!dirs.includes(m)) dirs.push(m);
  return { mounts, dirs };
}

/**
 * Stale sysfs mounts and directories: older napilab versions mounted another namespace's sysfs on
 * a temp directory for a few milliseconds, and a SIGKILL in between left both behind. What is still
 * there a second later is a leftover, not the work of a live process.
 */
function staleSysfsMounts(): { mounts: string[]; dirs: string[] } {
  const first = scanSysfsLeftovers();
  if (first.dirs.length === 0) return first;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  const second = scanSysfsLeftovers();
  return {
    mounts: second.mounts.filter((m) => first.mounts.includes(m)),
    dirs: second.dirs.filter((d) => first.dirs.includes(d)),
  };
}

const MNT_DETACH = 2;

export interface CleanupReport {
  /** Namespaces removed. */
  removed: string[];
  /** Runs whose leftovers were all removed (their state file is gone). */
  runs: string[];
  /** Live runs, left alone. */
  skippedLive: string[];
  /** Stale sysfs mounts and directories removed. */
  mounts: string[];
  /** What could not be removed, and why; the run's state is kept for the next --cleanup. */
  failed: { run: string | null; what: string; why: string }[];
}

/** `napilab bench --cleanup`: remove what crashed runs left; live runs are left alone. */
export function cleanupLeftovers(): CleanupReport {
  const report: CleanupReport = { removed: [], runs: [], skippedLive: [], mounts: [], failed: [] };
  // hold the lock while cleaning when no run is live, so no run starts half-way through
  let lock: RunLock | null = null;
  try {
    lock = existsSync(stateDir()) ? tryLock() : null;
  } catch {
    // a user who may not take the lock can still be told what is left (and remove nothing)
  }
  try {
    for (const run of recordedRuns()) {
      if (run.alive) {
        report.skippedLive.push(run.runId);
        continue;
      }
      const r = destroyRun(run.runId);
      report.removed.push(...r.removed);
      for (const f of r.failed) report.failed.push({ run: run.runId, what: f.name, why: f.why });
      if (r.failed.length === 0) report.runs.push(run.runId);
    }
    const stale = staleSysfsMounts();
    for (const m of stale.mounts) {
      if (libc.umount2(m, MNT_DETACH) < 0)
        report.failed.push({ run: null, what: m, why: `umount: ${new SysError("", lastErrno()).code}` });
      else report.mounts.push(m);
    }
    for (const d of stale.dirs) {
      try {
        rmdirSync(d);
        if (!report.mounts.includes(d)) report.mounts.push(d);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        if (!report.failed.some((f) => f.what === d)) report.failed.push({ run: null, what: d, why: code });
      }
    }
  } finally {
    lock?.release();
  }
  return report;
}
