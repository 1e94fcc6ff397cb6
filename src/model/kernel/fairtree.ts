/**
 * The fair class's queue of runnable tasks (cfs_rq->tasks_timeline): a balanced search tree ordered
 * by vruntime, augmented like the kernel's rbtree with the earliest virtual deadline of each subtree
 * (min_vruntime/min_deadline augmentation), so pick_eevdf() is a walk from the root, O(log n).
 * A short queue (up to LIST_MAX tasks) is kept as a plain list and scanned: faster at that size.
 *
 * Ties are broken by queueing order (each insert gets a new sequence number): among equal
 * vruntimes or equal deadlines the task queued first wins, as a scan in queueing order would pick
 * it. The tree is a treap with deterministic priorities: its shape never changes a result.
 * A queued task's vruntime and deadline must not change until it is removed (they do not: the
 * scheduler updates only the running task, which is kept outside the queue).
 */
import type { Task } from "./task.js";

/** (vruntime, seq) order: the tree's key. */
function before(a: Task, b: Task): boolean {
  return a.vruntime < b.vruntime || (a.vruntime === b.vruntime && a.fairSeq < b.fairSeq);
}

/** (deadline, seq) order: which of two tasks EEVDF prefers. */
function earlier(a: Task, b: Task): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.fairSeq < b.fairSeq);
}

/** Recompute a node's augmentation from its children. */
function pull(t: Task): void {
  let dl: Task = t;
  let first: Task = t;
  const l = t.fairLeft;
  const r = t.fairRight;
  if (l !== null) {
    if (earlier(l.fairMinDeadline as Task, dl)) dl = l.fairMinDeadline as Task;
    if ((l.fairFirst as Task).fairSeq < first.fairSeq) first = l.fairFirst as Task;
  }
  if (r !== null) {
    if (earlier(r.fairMinDeadline as Task, dl)) dl = r.fairMinDeadline as Task;
    if ((r.fairFirst as Task).fairSeq < first.fairSeq) first = r.fairFirst as Task;
  }
  t.fairMinDeadline = dl;
  t.fairFirst = first;
}

/** Join two trees whose keys are all ordered (every key of a before every key of b). */
function merge(a: Task | null, b: Task | null): Task | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a.fairPrio > b.fairPrio) {
    a.fairRight = merge(a.fairRight, b);
    pull(a);
    return a;
  }
  b.fairLeft = merge(a, b.fairLeft);
  pull(b);
  return b;
}

/** Queues up to this size are a plain list scanned in order (faster than a tree when short). */
const LIST_MAX = 24;
/** A tree shrinking below this size goes back to a list: 0, never (bursty queues, such as 200
 * netservers woken together and drained, would rebuild it each burst). */
const LIST_BACK = 0;

export class FairTree {
  private root: Task | null = null;
  private seq = 0;
  private prio = 0x2545f491;
  /** Tasks queued. */
  size = 0;
  /** While short, the queue is this list in queueing order instead of the tree (null: tree). */
  private list: Task[] | null = [];
  private readonly listMax: number;
  private readonly listBack: number;

  /** listMax/listBack: the list-to-tree and tree-to-list sizes (tests vary them). */
  constructor(listMax = LIST_MAX, listBack = LIST_BACK) {
    this.listMax = listMax;
    this.listBack = listBack;
  }

  insert(t: Task): void {
    t.fairSeq = this.seq++;
    const list = this.list;
    if (list !== null) {
      list.push(t);
      this.size++;
      if (this.size > this.listMax) {
        this.list = null;
        this.size = 0;
        for (const q of list) this.treeInsert(q);
      }
      return;
    }
    this.treeInsert(t);
  }

  private treeInsert(t: Task): void {
    // xorshift32: deterministic priorities, well spread
    let x = this.prio;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.prio = x;
    t.fairPrio = x >>> 0;
    t.fairLeft = null;
    t.fairRight = null;
    pull(t);
    this.root = this.insertAt(this.root, t);
    this.size++;
  }

  private insertAt(node: Task | null, t: Task): Task {
    if (node === null) return t;
    if (t.fairPrio > node.fairPrio) {
      this.split(node, t);
      t.fairLeft = this.splitLeft;
      t.fairRight = this.splitRight;
      pull(t);
      return t;
    }
    if (before(t, node)) node.fairLeft = this.insertAt(node.fairLeft, t);
    else node.fairRight = this.insertAt(node.fairRight, t);
    pull(node);
    return node;
  }

  private splitLeft: Task | null = null;
  private splitRight: Task | null = null;

  /** Split node's tree into keys before t (splitLeft) and after it (splitRight). */
  private split(node: Task | null, t: Task): void {
    if (node === null) {
      this.splitLeft = null;
      this.splitRight = null;
      return;
    }
    if (before(node, t)) {
      this.split(node.fairRight, t);
      node.fairRight = this.splitLeft;
      pull(node);
      this.splitLeft = node;
    } else {
      this.split(node.fairLeft, t);
      node.fairLeft = this.splitRight;
      pull(node);
      this.splitRight = node;
    }
  }

  /** Remove a task that is queued here (false if it is not). */
  remove(t: Task): boolean {
    if (t.fairSeq < 0) return false;
    const list = this.list;
    if (list !== null) {
      const i = list.indexOf(t);
      if (i < 0) return false;
      const last = list.length - 1;
      for (let j = i; j < last; j++) list[j] = list[j + 1] as Task;
      list.pop();
      t.fairSeq = -1;
      this.size--;
      return true;
    }
    if (this.root === null) return false;
    const before0 = this.size;
    this.root = this.removeAt(this.root, t);
    if (this.size < this.listBack) {
      const back = this.inQueueOrder();
      this.root = null;
      this.list = back;
      for (const q of back) {
        q.fairLeft = null;
        q.fairRight = null;
      }
    }
    return this.size < before0;
  }

  private removeAt(node: Task | null, t: Task): Task | null {
    if (node === null) return null;
    if (node === t) {
      this.size--;
      const joined = merge(t.fairLeft, t.fairRight);
      t.fairLeft = null;
      t.fairRight = null;
      t.fairSeq = -1;
      return joined;
    }
    if (before(t, node)) node.fairLeft = this.removeAt(node.fairLeft, t);
    else node.fairRight = this.removeAt(node.fairRight, t);
    pull(node);
    return node;
  }

  /** __pick_first_entity(): the smallest vruntime (queued first among equals), or null. */
  leftmost(): Task | null {
    const list = this.list;
    if (list !== null) {
      let best: Task | null = null;
      for (let i = 0; i < list.length; i++) {
        const t = list[i] as Task;
        if (best === null || t.vruntime < best.vruntime) best = t;
      }
      return best;
    }
    let node = this.root;
    if (node === null) return null;
    while (node.fairLeft !== null) node = node.fairLeft;
    return node;
  }

  /**
   * pick_eevdf()'s search: among tasks with vruntime <= limit (eligible), the earliest deadline
   * (queued first among equals), or null. Eligible tasks are a prefix in vruntime order, so each
   * node that is eligible brings its whole left subtree along (its cached earliest deadline).
   */
  earliestEligible(limit: number): Task | null {
    let best: Task | null = null;
    const list = this.list;
    if (list !== null) {
      for (let i = 0; i < list.length; i++) {
        const t = list[i] as Task;
        if (t.vruntime > limit) continue;
        if (best === null || t.deadline < best.deadline) best = t;
      }
      return best;
    }
    let node = this.root;
    while (node !== null) {
      if (node.vruntime <= limit) {
        const l = node.fairLeft;
        if (l !== null && (best === null || earlier(l.fairMinDeadline as Task, best)))
          best = l.fairMinDeadline as Task;
        if (best === null || earlier(node, best)) best = node;
        node = node.fairRight;
      } else node = node.fairLeft;
    }
    return best;
  }

  /** The task queued first, or null. */
  first(): Task | null {
    if (this.list !== null) return this.list[0] ?? null;
    return this.root === null ? null : (this.root.fairFirst as Task);
  }

  /** The first task in queueing order that may run on `cpu`, or null. */
  firstAllowedOn(cpu: number): Task | null {
    const first = this.first();
    if (first === null || first.allowedOn(cpu)) return first; // the usual case: no affinity
    const list = this.list;
    if (list !== null) {
      for (let i = 1; i < list.length; i++) if ((list[i] as Task).allowedOn(cpu)) return list[i] as Task;
      return null;
    }
    for (const t of this.inQueueOrder()) if (t.allowedOn(cpu)) return t;
    return null;
  }

  /** Every queued task in queueing order (for load balancing; allocates). */
  inQueueOrder(): Task[] {
    if (this.list !== null) return [...this.list];
    const out: Task[] = [];
    const walk = (n: Task | null): void => {
      if (n === null) return;
      walk(n.fairLeft);
      out.push(n);
      walk(n.fairRight);
    };
    walk(this.root);
    return out.sort((a, b) => a.fairSeq - b.fairSeq);
  }
}
