/**
 * How fast napilab reads NAPI state: the netlink codec alone (decode of a napi-get dump reply),
 * and a full `listNapi` (netns switch, genl family resolution, dump, /proc reads) against a veth
 * with 8 NAPI instances in a namespace this script creates and deletes. Needs root.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { listNapi, setThreaded } from "../src/linux/index.js";
import {
  decodeAttrs,
  decodeGenl,
  decodeMessages,
  encodeAttrs,
  encodeGenl,
  encodeMessage,
} from "../src/linux/netlink/codec.js";
import { NETDEV_NAPI } from "../src/linux/netlink/families.js";

function perSecond(n: number, fn: () => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

// a dump datagram of 64 NAPI entries, as the kernel would send it
const dump = Buffer.concat(
  Array.from({ length: 64 }, (_, i) =>
    encodeMessage({
      type: 20,
      flags: 2,
      seq: 1,
      payload: encodeGenl({
        cmd: 11,
        version: 1,
        attrs: encodeAttrs(
          { ifindex: 2, id: 8192 + i, pid: 1000 + i, threaded: 1, deferHardIrqs: 0, groFlushTimeout: 0 },
          NETDEV_NAPI,
        ),
      }),
    }),
  ),
);
const rate = perSecond(2000, () => {
  for (const m of decodeMessages(dump)) decodeAttrs(decodeGenl(m.payload).attrs, NETDEV_NAPI);
});
process.stdout.write(
  `codec: ${((rate * 64) / 1e6).toFixed(2)} M NAPI entries decoded/s (64-entry dump datagram)\n`,
);

if (process.getuid?.() !== 0) {
  process.stdout.write("listNapi: skipped (needs root to create a namespace)\n");
} else {
  const ns = `napilab-bench-${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", ns]);
    execFileSync("ip", [
      "-n",
      ns,
      "link",
      "add",
      "va",
      "numrxqueues",
      "8",
      "type",
      "veth",
      "peer",
      "name",
      "vb",
      "numrxqueues",
      "8",
    ]);
    execFileSync("ip", ["-n", ns, "link", "set", "va", "up"]);
    execFileSync("ip", ["-n", ns, "link", "set", "vb", "up"]);
    execFileSync("ip", ["netns", "exec", ns, "ethtool", "-K", "vb", "gro", "on"]);
    for (const mode of ["disabled", "enabled"] as const) {
      if (mode === "enabled") setThreaded("vb", "enabled", { netns: ns });
      const n = listNapi({ netns: ns, ifname: "vb" }).length;
      const calls = perSecond(200, () => listNapi({ netns: ns, ifname: "vb" }));
      process.stdout.write(`listNapi (${n} NAPIs, ${mode}): ${(1000 / calls).toFixed(2)} ms per call\n`);
    }
    const t0 = process.hrtime.bigint();
    setThreaded("vb", "disabled", { netns: ns });
    process.stdout.write(
      `setThreaded (8 NAPIs, read back): ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms\n`,
    );
  } finally {
    spawnSync("ip", ["netns", "del", ns]);
  }
}
