/** Where a command writes: the process's streams, or buffers in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal: progress is shown only then. */
  readonly errIsTTY: boolean;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  get errIsTTY() {
    return process.stderr.isTTY === true;
  },
};

/**
 * A one-line progress indicator on stderr, redrawn in place; silent unless stderr is a terminal,
 * so piped and CI output stays clean.
 */
export class Progress {
  readonly #io: Io;
  #shown = false;

  constructor(io: Io) {
    this.#io = io;
  }

  update(text: string): void {
    if (!this.#io.errIsTTY) return;
    this.#io.err(`\r\x1b[2K${text}`);
    this.#shown = true;
  }

  done(): void {
    if (this.#shown) this.#io.err('\r\x1b[2K');
    this.#shown = false;
  }
}
