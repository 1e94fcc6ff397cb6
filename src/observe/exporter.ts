/**
 * `napilab exporter`: a read-only HTTP endpoint for Prometheus. Every GET /metrics takes a fresh
 * sample (no background polling: the scrape interval is the sampling interval); /healthz answers
 * without touching the kernel.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { InputError } from "../core/errors.js";
import { ObserveMetrics } from "./metrics.js";
import { Sampler, type SamplerOptions } from "./sampler.js";

export interface ListenAddress {
  host: string;
  port: number;
}

export const DEFAULT_LISTEN = "127.0.0.1:9977";

/** Parse HOST:PORT (IPv6 hosts in brackets: [::1]:9977); a bare :PORT means loopback, port 0 any free port. */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port > 65535)
    throw new InputError(`invalid --listen '${text}': expected HOST:PORT, e.g. 127.0.0.1:9977 or [::1]:9977`);
  const host = m[1] ?? (m[2] === "" || m[2] === undefined ? "127.0.0.1" : m[2]);
  return { host, port };
}

export interface Exporter {
  server: Server;
  address: AddressInfo;
  close(): Promise<void>;
}

export async function startExporter(listen: ListenAddress, opts: SamplerOptions): Promise<Exporter> {
  const sampler = new Sampler(opts);
  const metrics = new ObserveMetrics();
  const server = createServer((req, res) => {
    // Node caches its Date header and arms a timer to drop the cache at the next full second: one
    // more wake-up of the process per scrape. The header is written here instead, the same text.
    res.sendDate = false;
    res.setHeader("Date", new Date().toUTCString());
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end("method not allowed\n");
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
      return;
    }
    if (path === "/") {
      res
        .writeHead(200, { "Content-Type": "text/html" })
        .end('<html><body><h1>napilab exporter</h1><p><a href="/metrics">/metrics</a></p></body></html>\n');
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found: try /metrics\n");
      return;
    }
    let body: Promise<string>;
    try {
      const t0 = process.hrtime.bigint();
      const s = sampler.sample();
      metrics.update(s, Number(process.hrtime.bigint() - t0) / 1e9);
      body = metrics.metrics();
    } catch (err) {
      res.writeHead(500, { "Content-Type": "text/plain" }).end(`napilab: ${(err as Error).message}\n`);
      return;
    }
    body.then(
      (text) => res.writeHead(200, { "Content-Type": metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { "Content-Type": "text/plain" }).end(`napilab: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    sampler.close();
    if (err.code === "EADDRINUSE")
      throw new InputError(`--listen ${listen.host}:${listen.port}: address in use`);
    if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND")
      throw new InputError(`--listen ${listen.host}:${listen.port}: no such local address`);
    if (err.code === "EACCES")
      throw new InputError(`--listen ${listen.host}:${listen.port}: permission denied`);
    throw err;
  });
  return {
    server,
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        sampler.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
