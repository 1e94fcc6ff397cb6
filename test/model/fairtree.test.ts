import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FairTree } from "../../src/model/kernel/fairtree.js";
import { hogBody } from "../../src/model/kernel/receivers.js";
import { Task } from "../../src/model/kernel/task.js";

const task = (id: number) =>
  new Task(
    id,
    `t${id}`,
    "hog",
    { policy: "other", nice: 0 },
    id % 2 === 1 ? [0, 1] : [0],
    () => hogBody(),
    true,
  );

// the reference: the scans the run queue did over an array in queueing order
function refEarliestEligible(queue: Task[], limit: number): Task | null {
  let best: Task | null = null;
  for (const t of queue) {
    if (t.vruntime > limit) continue;
    if (best === null || t.deadline < best.deadline) best = t;
  }
  return best;
}
function refLeftmost(queue: Task[]): Task | null {
  let best: Task | null = null;
  for (const t of queue) if (best === null || t.vruntime < best.vruntime) best = t;
  return best;
}

describe("fair queue tree (EEVDF pick in O(log n))", () => {
  for (const [name, listMax, listBack] of [
    ["as a tree", 0, -1],
    ["switching between list and tree", 4, 2],
    ["with the default sizes", undefined, undefined],
  ] as const)
    it(`picks what a scan in queueing order picks, ties included, through random inserts and removals (${name})`, () => {
      // small value ranges force many equal vruntimes and deadlines
      const op = fc.record({
        add: fc.boolean(),
        who: fc.nat(39),
        v: fc.integer({ min: 0, max: 6 }),
        d: fc.integer({ min: 0, max: 6 }),
        limit: fc.integer({ min: -1, max: 7 }),
      });
      fc.assert(
        fc.property(fc.array(op, { maxLength: 160 }), (ops) => {
          const tasks = Array.from({ length: 40 }, (_, i) => task(i + 1));
          const tree = new FairTree(listMax, listBack);
          const queue: Task[] = [];
          for (const o of ops) {
            const t = tasks[o.who] as Task;
            const i = queue.indexOf(t);
            if (o.add && i < 0) {
              t.vruntime = o.v;
              t.deadline = o.v + o.d;
              tree.insert(t);
              queue.push(t);
            } else if (!o.add && i >= 0) {
              assert.equal(tree.remove(t), true);
              queue.splice(i, 1);
            } else if (!o.add) assert.equal(tree.remove(t), false);
            assert.equal(tree.size, queue.length);
            assert.equal(tree.earliestEligible(o.limit), refEarliestEligible(queue, o.limit));
            assert.equal(tree.leftmost(), refLeftmost(queue));
            assert.equal(tree.first(), queue[0] ?? null);
            assert.deepEqual(tree.inQueueOrder(), queue);
            // affinity: only tasks with an odd id may run on CPU 1
            assert.equal(tree.firstAllowedOn(1), queue.find((t) => t.id % 2 === 1) ?? null);
          }
        }),
        { numRuns: 300 },
      );
    });
});
