/**
 * `npm run demo:top`: what `napilab top` shows under load, captured from a real terminal. Builds the
 * observe tests' bed (two namespaces of this process, a veth with 2 rx queues and GRO, 198.18.0.0/15),
 * makes the receiving device threaded with both NAPI kthreads on CPU 0 (the "piled" layout operators
 * find by hand), floods it with napilab's own generator from CPU 1, runs the built `napilab top
 * --netns` in tmux, prints the screen after a few refreshes, and removes everything it made.
 * Env: DEMO_LAYOUT=spread puts one kthread per CPU instead; DEMO_SECONDS (default 5) how long top runs.
 * Needs root, tmux and `npm run build`. A run killed with SIGKILL cannot clean up: the next run
 * removes what such a run left (namespaces napilab-demo-<pid>-*, tmux server napilab-demo-<pid>,
 * for pids no longer alive).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createBed, startSender } from "../test/observe/traffic-bed.js";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
if (!existsSync(cli)) throw new Error("run npm run build first");
const seconds = Math.max(3, Number(process.env.DEMO_SECONDS ?? 5));
const spread = process.env.DEMO_LAYOUT === "spread";
const socket = `napilab-demo-${process.pid}`;
const tmux = (...args: string[]) => spawnSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
const napilab = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { stdio: "pipe" });

const alive = (pid: number) => existsSync(`/proc/${pid}`);
for (const ns of existsSync("/run/netns") ? readdirSync("/run/netns") : []) {
  const pid = Number(/^napilab-demo-(\d+)-/.exec(ns)?.[1]);
  if (pid && !alive(pid)) {
    spawnSync("tmux", ["-L", `napilab-demo-${pid}`, "kill-server"]);
    spawnSync("ip", ["netns", "del", ns]);
  }
}
const bed = createBed(2, "napilab-demo");
let sender: Awaited<ReturnType<typeof startSender>> | undefined;
const cleanup = () => {
  tmux("kill-server");
  bed.cleanup();
};
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});
try {
  napilab("napi", "set", "vb", "--threaded", "enabled", "--netns", bed.rx);
  const ids = (
    JSON.parse(napilab("napi", "list", "--netns", bed.rx, "--json").toString()) as { id: number }[]
  ).map((n) => n.id);
  for (const [i, id] of ids.entries())
    napilab("napi", "pin", `vb/${id}`, "--cpus", spread ? String(i % 2) : "0", "--netns", bed.rx);
  sender = await startSender(bed, { cpus: [1], ports: [9000, 9001, 9002, 9003], ratePps: 0 });
  const cmd = `${process.execPath} ${cli} top --netns ${bed.rx} --interval 1s`;
  if (tmux("new-session", "-d", "-s", "top", "-x", "120", "-y", "30", cmd).status !== 0)
    throw new Error("tmux could not start (is it installed?)");
  await new Promise((r) => setTimeout(r, seconds * 1000));
  process.stdout.write(
    `napilab top --netns <rx namespace>, ${spread ? "spread: one kthread per CPU" : "piled: both kthreads on CPU 0"}, ` +
      `napilab's UDP generator flooding from CPU 1, after ${seconds} s:\n\n`,
  );
  process.stdout.write(`${tmux("capture-pane", "-p", "-t", "top").stdout.trimEnd()}\n`);
} finally {
  await sender?.stop();
  cleanup();
}
