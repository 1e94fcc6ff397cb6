/** The bench report: every column filled, 120 columns wide at most, notes only where they apply. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BenchMode, BenchResult, Cell } from "../../src/bench/index.js";
import {
  cellRow,
  cellTable,
  LEGEND,
  REPORT_WIDTH,
  runNotes,
  wrap,
} from "../../src/cli/commands/bench-table.js";

function cell(mode: BenchMode, size: number, flows: number, over: Partial<Cell> = {}): Cell {
  const napi = mode !== "softirq";
  return {
    mode,
    size,
    flows,
    elapsedNs: 2e9,
    sent: 1_591_600,
    received: 345_600,
    countSkew: 12,
    offeredPps: 795_800,
    deliveredPps: 172_800,
    drops: {
      ring: 293_600,
      backlog: 0,
      socket: 1_205_400,
      socketPerSocket: 1_205_400,
      rxDevice: 0,
      reassembly: 0,
    },
    reassembled: 0,
    timeSqueeze: 1234,
    rpsReceived: 0,
    perCpu: [0, 1].map((c) => ({
      cpu: c,
      busyPct: 100,
      userPct: 40,
      systemPct: 30,
      softirqPct: 30,
      irqPct: 0,
      receiversPct: 0,
      senderPct: 0,
      napiKthreadPct: 0,
      ksoftirqdPct: 0,
    })),
    foreignPct: 7.4,
    receivers: { cpus: [1], cpuPct: 55.2, waitPct: 1 },
    sender: { cpus: [0], cpuPct: 98.1, waitPct: 0 },
    napiKthread: napi
      ? {
          pid: 1234,
          name: "napi/nl-rx-8193",
          cpus: [1],
          cpuPct: 40.4,
          waitPct: 3,
          slices: 10,
          voluntarySwitches: 5,
          involuntarySwitches: 2,
        }
      : null,
    setup: {
      mode,
      threaded: napi ? "enabled" : "disabled",
      napiId: 8193,
      kthreadPid: napi ? 1234 : null,
      kthreadName: napi ? "napi/nl-rx-8193" : null,
      kthreadCpus: napi ? [1] : null,
      rpsCpus: napi ? [] : [1],
    },
    senderErrors: 0,
    generator: { kind: "packet", framesPerDatagram: 1, wholeDatagrams: false, refusedFrames: 0 },
    ...over,
  };
}

function result(cells: Cell[], irq: boolean | null = false): BenchResult {
  return {
    host: { kernel: "6.18", onlineCpus: "0-1", node: "v20", irqTimeAccounting: irq },
    cells,
    complete: true,
    interruptedBy: null,
    plannedCells: cells.length,
    leftovers: [],
  } as unknown as BenchResult;
}

const FULL_GRID: Cell[] = (["softirq", "threaded", "threaded-free", "busy-poll"] as BenchMode[]).flatMap(
  (m) => [1, 64000].map((s) => cell(m, s, 200)),
);

describe("bench table", () => {
  it("has a value under every header, OTHER% included", () => {
    const [head, ...rows] = cellTable([cell("threaded", 256, 25)]).split("\n");
    assert.ok(head?.trimEnd().endsWith("OTHER%"));
    assert.equal(cellRow(cell("threaded", 256, 25)).length, 10);
    assert.equal(cellRow(cell("threaded", 256, 25)).at(-1), "7");
    // the last column's value ends where its header ends (right-aligned under it)
    assert.equal(rows[0]?.length, head?.length);
    assert.ok(rows[0]?.endsWith(" 7"));
  });

  it(`fits ${REPORT_WIDTH} columns with the widest mode and no line ends in spaces`, () => {
    for (const line of cellTable(FULL_GRID).split("\n")) {
      assert.ok(line.length <= REPORT_WIDTH, `${line.length}: ${line}`);
      assert.equal(line, line.trimEnd());
    }
    for (const line of wrap(LEGEND).split("\n")) assert.ok(line.length <= REPORT_WIDTH, line);
    assert.ok(wrap(LEGEND).split("\n").length > 1);
  });

  it("prints the IRQ-accounting note only when a softirq cell is skewed by it", () => {
    const irqNote = (r: BenchResult) => runNotes(r).some((n) => n.includes("CONFIG_IRQ_TIME_ACCOUNTING"));
    assert.equal(irqNote(result([cell("threaded", 256, 1)], false)), false);
    assert.equal(irqNote(result([cell("softirq", 256, 1)], true)), false);
    assert.equal(irqNote(result([cell("softirq", 256, 1), cell("threaded", 256, 1)], false)), true);
  });

  it("says what happened when datagrams failed reassembly", () => {
    const lost = cell("threaded", 64000, 1, {
      offeredPps: 30_000,
      deliveredPps: 0,
      drops: { ring: 4000, backlog: 0, socket: 0, socketPerSocket: 0, rxDevice: 0, reassembly: 3_000_000 },
    });
    const notes = runNotes(result([lost, cell("threaded", 256, 1)], true)).join("\n");
    assert.match(notes, /threaded 64000 B 1 flow\(s\): 1.5M\/s IP reassembly failures/);
    assert.match(notes, /fragment loss, not the NAPI mode failing/);
    assert.doesNotMatch(notes, /256 B/);
  });

  it("marks an interrupted run as incomplete", () => {
    const r = {
      ...result([cell("threaded", 256, 1)]),
      complete: false,
      interruptedBy: "SIGINT",
      plannedCells: 4,
    };
    assert.ok(
      runNotes(r as BenchResult).some((n) =>
        /incomplete run: interrupted by SIGINT after 1 of 4 cells/.test(n),
      ),
    );
  });
});
