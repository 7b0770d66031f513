/**
 * Ctrl-C (SIGINT) and SIGTERM: no write starts after the signal, the writes in flight finish, and the
 * command says what was done and what was not (exit 130). Before any write there is nothing to wait
 * for: the command stops at once. A second signal stops at once whatever is in flight.
 */

export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/** The signal that stopped the command. */
export class InterruptedError extends Error {
  constructor(readonly signal: InterruptSignal, when: 'before any write' | 'between writes') {
    super(when === 'before any write'
      ? `${signal} received before any write: nothing was changed.`
      : `${signal} received: no write was started after it, and those in flight finished.`);
    this.name = 'InterruptedError';
  }
}

/** Whether a signal has arrived, and who wants to know when one does. */
export class Interruption {
  private received?: InterruptSignal;
  private readonly listeners = new Set<(signal: InterruptSignal) => void>();

  /** The first signal, once one arrived. */
  get signal(): InterruptSignal | undefined {
    return this.received;
  }

  /** A signal arrived (the first one counts; main.ts handles a second). */
  interrupt(signal: InterruptSignal): void {
    if (this.received) return;
    this.received = signal;
    for (const listener of [...this.listeners]) listener(signal);
  }

  /** Calls `listener` when a signal arrives (at once if one did); returns how to stop listening. */
  onSignal(listener: (signal: InterruptSignal) => void): () => void {
    if (this.received) {
      listener(this.received);
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** What one command's writes have done, as the engine's `beforeWrite` hook sees them. */
export class WriteGate {
  private started = 0;

  constructor(private readonly interruption: Interruption | undefined) {}

  /** Whether any real write has started. */
  get writesStarted(): boolean {
    return this.started > 0;
  }

  /** The engine's `beforeWrite`: after a signal, no write starts. */
  readonly beforeWrite = (): void => {
    const signal = this.interruption?.signal;
    if (signal) throw new InterruptedError(signal, 'between writes');
    this.started++;
  };

  /**
   * `work`, unless a signal arrives before its first write: then it rejects at once with an
   * InterruptedError (the reads and dry runs in flight are abandoned; the gate keeps any write from
   * starting after that). After the first write, it waits for `work`, which stops at its next write.
   * `onWaiting` is told when a signal arrives with writes under way.
   */
  guard<T>(work: Promise<T>, onWaiting: (signal: InterruptSignal) => void = () => {}): Promise<T> {
    if (!this.interruption) return work;
    return new Promise<T>((resolve, reject) => {
      const stop = this.interruption!.onSignal((signal) => {
        if (this.writesStarted) onWaiting(signal);
        else reject(new InterruptedError(signal, 'before any write'));
      });
      work.then(resolve, reject).finally(stop);
    });
  }
}

/** The parts of `process` main.ts lends to signal handling. */
export interface SignalSource {
  on(signal: InterruptSignal, listener: () => void): unknown;
}

/**
 * Turns SIGINT and SIGTERM into an Interruption: the first is the command's to handle, a second
 * stops at once (exit 130) with `onSecond`'s message.
 */
export function interruptionFrom(source: SignalSource, onSecond: (signal: InterruptSignal) => void): Interruption {
  const interruption = new Interruption();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    source.on(signal, () => {
      if (interruption.signal) onSecond(signal);
      else interruption.interrupt(signal);
    });
  }
  return interruption;
}
