import { KubeClient, KubeConnection, RequestOptions } from '../engine';

/** After this long without an answer, the CLI says what it is waiting for. */
export const SLOW_ANSWER_MS = 3000;

/** What the CLI has said of the server's slowness, shared with the retry hook the constructor hands over. */
interface ProgressState {
  /** A retry line for this attempt and reason was printed: requests that go out together fail together. */
  lastRetry: string;
  /** A "waiting" line was printed and nothing has answered since. */
  slowNoticeShown: boolean;
  /** Closed: the command has said why it stopped; requests still under way end without a word. */
  quiet: boolean;
}

/**
 * The engine's client as the CLI uses it: a line on stderr when the API server is slow to answer and
 * at each retry, and no retry of a timeout before the server has ever answered (it fails after one
 * request timeout, with advice, rather than after four of them in silence).
 */
export class CliKubeClient extends KubeClient {
  private readonly state: ProgressState;

  constructor(connection: KubeConnection, private readonly server: string, private readonly progress: (line: string) => void) {
    const state: ProgressState = { lastRetry: '', slowNoticeShown: false, quiet: false };
    super(connection, {
      retryTimeoutsBeforeFirstAnswer: false,
      onRetry: ({ method, path, attempt, maxAttempts, waitMs, reason, detail }) => {
        if (state.quiet || state.lastRetry === `${attempt} ${reason}`) return;
        state.lastRetry = `${attempt} ${reason}`;
        progress(`${server}: ${detail.startsWith(`${method} ${path}`) ? detail : `${method} ${path}: ${detail}`}; `
          + `trying again in ${seconds(waitMs)} (attempt ${attempt + 1} of ${maxAttempts})`);
      },
    });
    this.state = state;
  }

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const timer = setTimeout(() => {
      if (this.state.slowNoticeShown || this.state.quiet) return;
      this.state.slowNoticeShown = true;
      this.progress(`${this.server}: waiting for an answer to ${method} ${path} (none after ${seconds(SLOW_ANSWER_MS)}; `
        + `each attempt gives up after ${seconds(this.timeoutMs)})`);
    }, SLOW_ANSWER_MS);
    try {
      return await super.request<T>(method, path, options);
    } finally {
      clearTimeout(timer);
      this.state.slowNoticeShown = false;
    }
  }

  close(): void {
    this.state.quiet = true;
    super.close();
  }
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(2))} s`;
}
