/**
 * Errors a user can act on. The CLI prints their message on one line and exits non-zero;
 * anything else is a bug and is printed with its stack.
 */
export class UserError extends Error {
  /** Process exit status: 2 for bad input (usage), 1 for a failure of the host or the run. */
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "UserError";
    this.exitCode = exitCode;
  }
}

/** Bad input: a value, option or file the user gave that cannot be used. Exit status 2. */
export class InputError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = "InputError";
  }
}

/** The host cannot do what was asked: missing privilege, kernel feature, device. Exit status 1. */
export class HostError extends UserError {
  constructor(message: string) {
    super(message, 1);
    this.name = "HostError";
  }
}
