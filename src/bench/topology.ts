/**
 * The bench's own test bed: a sender namespace and a receiver namespace joined by a veth pair,
 * with addresses from 198.18.0.0/15 (RFC 2544 benchmarking range) and GRO on the receiving end,
 * which is what gives a veth a NAPI instance (veth `veth_napi_add` runs when GRO or XDP is on).
 *
 * Every run records what it creates in a state file under /run/napilab/bench/ *before* creating
 * it, so `napilab bench --cleanup` can remove leftovers of a crashed run and never anything else.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { HostError } from "../core/errors.js";

export const STATE_DIR = "/run/napilab/bench";
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
  return `${STATE_DIR}/${runId}.json`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Runs recorded in the state directory, with whether the process that made them still lives. */
export function recordedRuns(): (StateFile & { alive: boolean })[] {
  if (!existsSync(STATE_DIR)) return [];
  const runs: (StateFile & { alive: boolean })[] = [];
  for (const f of readdirSync(STATE_DIR).filter((n) => n.endsWith(".json"))) {
    try {
      const s = JSON.parse(readFileSync(`${STATE_DIR}/${f}`, "utf8")) as StateFile;
      runs.push({ ...s, alive: s.pid !== process.pid && pidAlive(s.pid) });
    } catch {
      // an unreadable state file is not ours to interpret; leave it
    }
  }
  return runs;
}

/** Refuse to start over a crashed run's leftovers, or next to another live run (it would share the CPUs). */
export function checkNoLeftovers(): void {
  for (const run of recordedRuns()) {
    const present = run.namespaces.filter((n) => existsSync(`${NETNS_DIR}/${n}`));
    if (run.alive)
      throw new HostError(
        `another napilab bench run (${run.runId}, pid ${run.pid}) is in progress; wait for it to end`,
      );
    throw new HostError(
      `leftover topology of crashed bench run ${run.runId} (${present.join(", ") || "state file only"}); ` +
        "remove it with 'napilab bench --cleanup'",
    );
  }
}

/** Build the topology of a run. On any failure, what was built is removed before the error is thrown. */
export function createTopology(runId: string): Topology {
  const ns = namespacesOf(runId);
  mkdirSync(STATE_DIR, { recursive: true });
  const state: StateFile = {
    runId,
    pid: process.pid,
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

function removeNamespaces(runId: string): string[] {
  const removed: string[] = [];
  for (const name of recordedNamespaces(runId)) {
    if (!existsSync(`${NETNS_DIR}/${name}`)) continue;
    const r = spawnSync("ip", ["netns", "del", name], { encoding: "utf8" });
    if (r.status === 0) removed.push(name);
  }
  return removed;
}

/**
 * Remove a run's namespaces (the veth pair goes with them) and its state file. Only names recorded
 * for this run and matching its own prefix are touched. Synchronous, so it also works from a
 * signal handler just before exit. Returns the namespaces it removed.
 */
export function destroyRun(runId: string): string[] {
  const removed = removeNamespaces(runId);
  rmSync(statePath(runId), { force: true });
  return removed;
}

/** `napilab bench --cleanup`: remove what crashed runs left; live runs are left alone. */
export function cleanupLeftovers(): { removed: string[]; runs: string[]; skippedLive: string[] } {
  const removed: string[] = [];
  const runs: string[] = [];
  const skippedLive: string[] = [];
  for (const run of recordedRuns()) {
    if (run.alive) {
      skippedLive.push(run.runId);
      continue;
    }
    runs.push(run.runId);
    removed.push(...destroyRun(run.runId));
  }
  return { removed, runs, skippedLive };
}
