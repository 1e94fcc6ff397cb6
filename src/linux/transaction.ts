/**
 * All-or-nothing application of several host changes: run the steps in order; if one fails,
 * undo the finished ones in reverse order and rethrow, saying whether the undo worked.
 */
import { HostError, InputError, UserError } from "../core/errors.js";

export interface Step {
  run: () => void;
  undo: () => void;
}

export function applyAll(steps: readonly Step[]): void {
  const done: (() => void)[] = [];
  try {
    for (const s of steps) {
      s.run();
      done.push(s.undo);
    }
  } catch (err) {
    if (done.length === 0) throw err;
    const failed: string[] = [];
    for (const undo of done.reverse()) {
      try {
        undo();
      } catch (e) {
        failed.push(e instanceof Error ? e.message : String(e));
      }
    }
    const note =
      failed.length === 0
        ? `; the ${done.length} change(s) made before were restored`
        : `; restoring the earlier changes failed too: ${failed.join("; ")}`;
    if (err instanceof UserError)
      throw err.exitCode === 2 ? new InputError(err.message + note) : new HostError(err.message + note);
    throw new HostError(`${err instanceof Error ? err.message : String(err)}${note}`);
  }
}
