/**
 * Where the observe pillar learns which NAPI instances exist: the live kernel through src/linux's
 * netdev netlink client (napi-get, queue-get and qstats-get dumps on one session kept open) and
 * the kthreads' CPU affinity (sched_getaffinity), or a fixture file that stands in for them when
 * the /proc tree is a fixture too.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import type * as Zod from "zod";
import { HostError, InputError } from "../core/errors.js";
import { KERNEL_THREADED_NAMES, type KernelThreaded } from "../core/vocabulary.js";
import {
  getAffinity,
  libc,
  NETNS_DIR,
  NetdevClient,
  netnsPath,
  SysError,
  withNetns,
} from "../linux/index.js";
import { dumpRxQueueStats, type QueueCounters } from "./qstats.js";

/** One NAPI instance, as discovery reports it (before /proc is read for its kthread). */
export interface NapiRecord {
  ifname: string;
  ifindex: number;
  id: number;
  threaded: KernelThreaded;
  pid: number | null;
  rxQueues: number[];
  irq: number | null;
  /** CPUs the kthread may run on; null without a kthread (or when it exited meanwhile). */
  cpus: number[] | null;
}

export interface NapiSource {
  /**
   * NAPI instances and per-queue counters, read at the same moment; `note` says why there are no
   * NAPI instances when the kernel cannot list them (the per-CPU figures are still worth showing).
   */
  read(): { napis: NapiRecord[]; queues: QueueCounters[]; note?: string };
  close(): void;
}

function ifName(ifindex: number, cache: Map<number, string>): string {
  const known = cache.get(ifindex);
  if (known) return known;
  const buf = Buffer.alloc(16);
  const name =
    libc.if_indextoname(ifindex, buf) === null
      ? `if${ifindex}`
      : buf.toString("utf8", 0, buf.indexOf(0) === -1 ? 16 : buf.indexOf(0));
  cache.set(ifindex, name);
  return name;
}

/**
 * The live host, or a named namespace. The netlink session is opened once inside the namespace
 * (a socket stays in the namespace it was created in); each read checks the namespace still exists,
 * so a deleted namespace is reported instead of being kept alive by our socket.
 */
export function liveNapiSource(netns: string | undefined): NapiSource {
  let client: NetdevClient | undefined;
  // queue -> NAPI links change only when NAPIs are re-created (new ids): dumped again only then
  let links: { key: string; map: Map<number, { rx: number[]; tx: number[] }> } | undefined;
  if (netns !== undefined) netnsPath(netns); // a bad name fails before anything is opened
  const close = () => {
    client?.close();
    client = undefined;
    links = undefined;
  };
  return {
    read() {
      if (netns !== undefined && !existsSync(`${NETNS_DIR}/${netns}`)) {
        close();
        throw new HostError(`network namespace '${netns}' is gone`);
      }
      try {
        return withNetns(netns, () => {
          client ??= new NetdevClient();
          const caps = client.caps();
          if (!caps.napiGet)
            return { napis: [], queues: [], note: `no NAPI rows: ${caps.notes[0] ?? "no netdev napi-get"}` };
          const raws = client.dumpNapi();
          const key = raws.map((n) => `${n.ifindex}/${n.id}`).join(",");
          if (links?.key !== key) links = { key, map: client.dumpQueues() };
          const queueLinks = links.map;
          const queues = dumpRxQueueStats(client);
          const names = new Map<number, string>();
          const napis = raws.map((n) => {
            let cpus: number[] | null = null;
            if (n.pid !== null)
              try {
                cpus = getAffinity(n.pid);
              } catch {
                cpus = null; // the kthread exited between the dump and now
              }
            return {
              ifname: ifName(n.ifindex, names),
              ifindex: n.ifindex,
              id: n.id,
              threaded: n.threaded ?? (n.pid !== null ? "enabled" : "disabled"),
              pid: n.pid,
              rxQueues: [...(queueLinks.get(n.id)?.rx ?? [])].sort((a, b) => a - b),
              irq: n.irq,
              cpus,
            } satisfies NapiRecord;
          });
          napis.sort((a, b) => a.ifindex - b.ifindex || a.id - b.id);
          return { napis, queues };
        });
      } catch (err) {
        if (err instanceof SysError) throw new HostError(err.message);
        throw err;
      }
    },
    close,
  };
}

/** The fixture file: `<proc root>/napilab-napis.json`. */
export const FIXTURE_FILE = "napilab-napis.json";
const MAX_FIXTURE_BYTES = 1024 * 1024;

function fixtureSchema(z: typeof Zod.z) {
  return z.object({
    napis: z.array(
      z.object({
        ifname: z.string().min(1).max(15),
        ifindex: z.number().int().positive(),
        id: z.number().int().nonnegative(),
        threaded: z.enum(KERNEL_THREADED_NAMES),
        pid: z.number().int().positive().nullable(),
        rxQueues: z.array(z.number().int().nonnegative()).default([]),
        irq: z.number().int().nonnegative().nullable().default(null),
        cpus: z.array(z.number().int().nonnegative()).nullable().default(null),
      }),
    ),
    queues: z
      .array(
        z.object({
          ifindex: z.number().int().positive(),
          queue: z.number().int().nonnegative(),
          rxPackets: z.number().nonnegative(),
          rxBytes: z.number().nonnegative(),
          rxDrops: z.number().nonnegative().nullable().default(null),
        }),
      )
      .default([]),
  });
}

export type NapiFixture = Zod.z.input<ReturnType<typeof fixtureSchema>>;

/**
 * zod is loaded on first use: only fixture trees need it, and it is the largest module a live
 * `napilab top` or exporter would otherwise keep in its heap for days (about 3 MB of 8).
 */
let schema: ReturnType<typeof fixtureSchema> | undefined;
function loadFixtureSchema(): ReturnType<typeof fixtureSchema> {
  schema ??= fixtureSchema((createRequire(import.meta.url)("zod") as typeof Zod).z);
  return schema;
}

/** NAPI instances listed in a fixture tree's napilab-napis.json, validated; re-read on every call. */
export function fixtureNapiSource(procRoot: string): NapiSource {
  const path = `${procRoot}/${FIXTURE_FILE}`;
  return {
    read() {
      let text: string;
      try {
        if (statSync(path).size > MAX_FIXTURE_BYTES)
          throw new InputError(`${path}: larger than ${MAX_FIXTURE_BYTES} bytes`);
        text = readFileSync(path, "utf8");
      } catch (err) {
        if (err instanceof InputError) throw err;
        throw new InputError(`--proc-root ${procRoot}: no ${FIXTURE_FILE} listing the NAPI instances`);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new InputError(`${path}: not JSON (${(err as Error).message})`);
      }
      const r = loadFixtureSchema().safeParse(json);
      if (!r.success) {
        const issue = r.error.issues[0];
        throw new InputError(`${path}: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
      }
      return { napis: r.data.napis, queues: r.data.queues };
    },
    close() {},
  };
}
