/**
 * `napilab exporter`: serve the rx-path figures to Prometheus at /metrics (sampled at scrape time)
 * with /healthz, bound to loopback unless told otherwise. Runs until SIGINT/SIGTERM.
 */
import type { Command } from "@commander-js/extra-typings";
import { DEFAULT_LISTEN, parseListen, startExporter } from "../../observe/exporter.js";
import { observedCpuCount, tuneForLongRunning } from "../../observe/long-running.js";

export function registerExporter(program: Command): void {
  program
    .command("exporter")
    .description(
      "Prometheus endpoint of the rx path: per-NAPI thread CPU/wait, threaded mode, softnet, softirq, UDP errors",
    )
    .option("--listen <HOST:PORT>", "address to serve on; loopback unless you name another", DEFAULT_LISTEN)
    .option("--netns <NAME>", "observe the devices of the named network namespace NAME (as in ip netns)")
    .option(
      "--proc-root <DIR>",
      "read /proc from DIR and NAPI instances from DIR/napilab-napis.json (fixtures)",
    )
    .addHelpText(
      "after",
      "\nEndpoints: GET /metrics (Prometheus text format; every scrape reads the kernel afresh, nothing polls\n" +
        "in between) and GET /healthz. Read-only: the exporter never changes the host.\n\n" +
        "Per-NAPI series carry {device, queue, napi_id}; device and queue survive a NAPI's re-creation, the\n" +
        "kthread pid is not a label. Main series: napilab_napi_thread_cpu_seconds_total,\n" +
        "napilab_napi_thread_wait_seconds_total, napilab_napi_threaded (0 softirq, 1 kthread, 2 busy-poll),\n" +
        "napilab_softnet_{processed,dropped,times_squeezed}_total{cpu}, napilab_cpu_softirq_seconds_total,\n" +
        "napilab_ksoftirqd_cpu_seconds_total, napilab_udp_rcvbuf_errors_total, napilab_diagnosis{kind,subject}.\n\n" +
        "Prometheus scrape config:\n  - job_name: napilab\n    static_configs: [{ targets: ['127.0.0.1:9977'] }]\n\n" +
        "Examples:\n  napilab exporter\n  napilab exporter --listen 127.0.0.1:9100 --netns lab\n" +
        "  curl -s 127.0.0.1:9977/metrics | grep napilab_napi_thread_cpu\n",
    )
    .action(async (o) => {
      const listen = parseListen(o.listen);
      const ex = await startExporter(listen, { netns: o.netns, procRoot: o.procRoot });
      tuneForLongRunning(observedCpuCount(o.procRoot));
      const shown = ex.address.family === "IPv6" ? `[${ex.address.address}]` : ex.address.address;
      process.stderr.write(
        `napilab exporter: serving http://${shown}:${ex.address.port}/metrics (Ctrl-C stops)\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          void ex.close().then(resolve);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    });
}
