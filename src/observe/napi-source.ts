/**
 * Where the observe pillar learns which NAPI instances exist: the live kernel through src/linux's
 * discovery (netdev napi-get + queue-get, `listNapi`) plus per-queue counters (qstats-get), or a
 * fixture file that stands in for them when the /proc tree is a fixture too.
 */
import { readFileSync, statSync } from "node:fs";
import { z } from "zod";
import { InputError } from "../core/errors.js";
import { KERNEL_THREADED_NAMES, type KernelThreaded } from "../core/vocabulary.js";
import { listNapi, NetdevClient, withNetns } from "../linux/index.js";
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
}

export interface NapiSource {
  /** NAPI instances and per-queue counters, read at the same moment. */
  read(): { napis: NapiRecord[]; queues: QueueCounters[] };
  close(): void;
}

/** The live host (or a named namespace): one persistent netdev session for qstats, listNapi for NAPIs. */
export function liveNapiSource(netns: string | undefined): NapiSource {
  let client: NetdevClient | undefined;
  return {
    read() {
      const napis = listNapi({ netns }).map((n) => ({
        ifname: n.ifname,
        ifindex: n.ifindex,
        id: n.id,
        threaded: n.threaded,
        pid: n.pid,
        rxQueues: n.rxQueues ?? [],
        irq: n.irq,
      }));
      // the socket stays in the namespace it was opened in, so it is opened there once
      client ??= withNetns(netns, () => new NetdevClient());
      return { napis, queues: dumpRxQueueStats(client) };
    },
    close() {
      client?.close();
      client = undefined;
    },
  };
}

/** The fixture file: `<proc root>/napilab-napis.json`. */
export const FIXTURE_FILE = "napilab-napis.json";
const MAX_FIXTURE_BYTES = 1024 * 1024;

const FixtureSchema = z.object({
  napis: z.array(
    z.object({
      ifname: z.string().min(1).max(15),
      ifindex: z.number().int().positive(),
      id: z.number().int().nonnegative(),
      threaded: z.enum(KERNEL_THREADED_NAMES),
      pid: z.number().int().positive().nullable(),
      rxQueues: z.array(z.number().int().nonnegative()).default([]),
      irq: z.number().int().nonnegative().nullable().default(null),
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

export type NapiFixture = z.input<typeof FixtureSchema>;

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
      const r = FixtureSchema.safeParse(json);
      if (!r.success) {
        const issue = r.error.issues[0];
        throw new InputError(`${path}: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
      }
      return { napis: r.data.napis, queues: r.data.queues };
    },
    close() {},
  };
}
