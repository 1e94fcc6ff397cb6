import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InputError } from "../../src/core/errors.js";
import {
  checkCpusWithin,
  formatCpuList,
  formatDuration,
  formatRate,
  MAX_PACKET_RATE,
  parseBitRate,
  parseCpuList,
  parseDuration,
  parseInteger,
  parseList,
  parseRate,
  parseSize,
} from "../../src/core/units.js";

/** Every parser error is an InputError whose one-line message names the bad value. */
function assertRejects(fn: () => unknown, bad: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.ok(err.message.includes(`'${bad}'`), `message should name '${bad}': ${err.message}`);
    assert.ok(!err.message.includes("\n"), "message is one line");
    return true;
  });
}

describe("parseDuration", () => {
  it("converts units to integer nanoseconds", () => {
    assert.equal(parseDuration("200us"), 200_000);
    assert.equal(parseDuration("2ms"), 2_000_000);
    assert.equal(parseDuration("1.5s"), 1_500_000_000);
    assert.equal(parseDuration("500ns"), 500);
    assert.equal(parseDuration("8000µs"), 8_000_000);
    assert.equal(parseDuration("1m"), 60e9);
  });
  it("uses the default unit only for bare numbers", () => {
    assert.equal(parseDuration("2", "s"), 2e9);
    assert.equal(parseDuration("2ms", "s"), 2e6);
    assertRejects(() => parseDuration("200"), "200");
  });
  it("rejects junk and unknown units, naming the value", () => {
    for (const bad of ["", "fast", "2 parsecs", "-1ms", "1e400s"])
      assertRejects(() => parseDuration(bad), bad);
  });
  it("formats back to a readable unit", () => {
    assert.equal(formatDuration(1_500_000), "1.5ms");
    assert.equal(formatDuration(200_000), "200us");
    assert.equal(formatDuration(42), "42ns");
    assert.equal(formatDuration(3e9), "3s");
  });
});

describe("parseRate and parseBitRate", () => {
  it("takes decimal SI suffixes and an optional pps", () => {
    assert.equal(parseRate("1.5M"), 1_500_000);
    assert.equal(parseRate("800k"), 800_000);
    assert.equal(parseRate("2Mpps"), 2_000_000);
    assert.equal(parseRate("120000"), 120_000);
  });
  it("rejects negative and malformed rates", () => {
    for (const bad of ["-5k", "1.5X", "k", "lots"]) assertRejects(() => parseRate(bad), bad);
  });
  it("parses link speeds", () => {
    assert.equal(parseBitRate("10G"), 10e9);
    assert.equal(parseBitRate("25Gbit"), 25e9);
    assert.equal(parseBitRate("100Mb/s"), 100e6);
    assertRejects(() => parseBitRate("fast ethernet"), "fast ethernet");
  });
  it("formats rates compactly", () => {
    assert.equal(formatRate(1_500_000), "1.5M");
    assert.equal(formatRate(746_000), "746k");
    assert.equal(formatRate(12), "12");
  });
});

describe("parseSize", () => {
  it("reads bytes with binary and decimal units", () => {
    assert.equal(parseSize("1438"), 1438);
    assert.equal(parseSize("64KiB"), 65536);
    assert.equal(parseSize("4k"), 4096);
    assert.equal(parseSize("1MB"), 1_000_000);
    assert.equal(parseSize("2M"), 2 * 1024 * 1024);
  });
  it("rejects fractions of a byte and unknown units", () => {
    for (const bad of ["1.5", "3 bananas", "", "-1"]) assertRejects(() => parseSize(bad), bad);
  });
});

describe("parseCpuList", () => {
  it("parses the kernel cpulist format", () => {
    assert.deepEqual(parseCpuList("0-3,6"), [0, 1, 2, 3, 6]);
    assert.deepEqual(parseCpuList("5"), [5]);
    assert.deepEqual(parseCpuList("0-7:2"), [0, 2, 4, 6]);
    assert.deepEqual(parseCpuList("3,1,1,2"), [1, 2, 3]);
  });
  it("rejects backwards ranges, junk and empty lists", () => {
    for (const bad of ["3-1", "a", "", "0-", "1,,x", "0-4:0", "9000"])
      assertRejects(() => parseCpuList(bad), bad);
  });
  it("round-trips through formatCpuList", () => {
    for (const text of ["0-3,6", "1", "0,2,4-9", "0-1023"])
      assert.equal(formatCpuList(parseCpuList(text)), text);
  });
  it("checks CPUs against a count", () => {
    checkCpusWithin([0, 1], 2);
    assert.throws(
      () => checkCpusWithin([0, 3], 2, "--receiver-cpus"),
      /--receiver-cpus names CPU 3.*CPUs 0-1/,
    );
    assert.throws(() => checkCpusWithin([1], 1), /only CPU 0/);
  });
});

describe("parseInteger and parseList", () => {
  it("bounds integers", () => {
    assert.equal(parseInteger("25", "--flows", 1), 25);
    assertRejects(() => parseInteger("0", "--flows", 1), "0");
    assertRejects(() => parseInteger("2.5", "--flows", 1), "2.5");
    assert.throws(() => parseInteger("100", "nice", -20, 19), /must be -20 to 19/);
  });
  it("maps element parsers over comma lists", () => {
    assert.deepEqual(parseList("1,256, 4096", parseSize), [1, 256, 4096]);
    assertRejects(() => parseList("1,x", parseSize), "x");
    assert.throws(() => parseList(",", parseSize), /empty/);
  });
});

describe("strict lists (every command's --sizes, --flows, --sweep, --modes)", () => {
  it("rejects an empty list, naming the option", () => {
    for (const text of ["", " ", ","])
      assert.throws(() => parseList(text, parseSize, "--sizes"), /^InputError: invalid --sizes '.*': /);
    assert.throws(() => parseList("", parseSize, "--sizes"), /empty list/);
  });
  it("rejects an empty item instead of skipping it", () => {
    assert.throws(
      () => parseList("1,,2", parseSize, "--sizes"),
      /invalid --sizes '1,,2': item 2 of 3 is empty/,
    );
    assert.throws(() => parseList("1,2,", parseSize), /item 3 of 3 is empty/);
  });
  it("rejects a value given twice, also when spelt differently", () => {
    assert.throws(() => parseList("1,1", parseSize, "--sizes"), /invalid --sizes '1,1': '1' repeats/);
    assert.throws(() => parseList("1k,1024", parseSize), /'1024' repeats '1k'/);
    assert.throws(() => parseList("1M,1000k", parseRate), /repeats/);
  });
  it("keeps the order of a good list", () => {
    assert.deepEqual(parseList("4096, 1,256", parseSize), [4096, 1, 256]);
  });
});

describe("packet rate bounds", () => {
  it("rejects 0 and rates beyond any NIC, naming the option", () => {
    assert.throws(() => parseRate("0", "--rate"), /invalid --rate '0': must be more than 0/);
    assert.throws(() => parseRate("0k"), /must be more than 0/);
    for (const text of ["1e12", "10G", "1.5G"])
      assert.throws(() => parseRate(text, "--rate"), /invalid --rate .*beyond any NIC/, text);
    assert.equal(parseRate("1G"), MAX_PACKET_RATE);
    assert.equal(parseRate("148.8M"), 148_800_000);
  });
});
