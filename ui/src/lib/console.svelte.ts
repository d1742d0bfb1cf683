// One console (VNC or serial) of one VM: opening it through the core (the gateway URL and a
// one-time token), a VM whose VNC someone else uses (`session_in_use`) asking before taking it
// over, why it closed in words, and coming back by itself (with backoff, the last frame kept)
// after a close that the VM running again undoes. The component attaches noVNC or xterm.js to
// the ticket and reports the socket's open and close here.
import type { Backend } from './backend';
import type { ConsoleKindView, ConsoleTicketView, UiError } from './generated';

export type ConsolePhase =
  | { phase: 'opening'; takeover: boolean }
  | { phase: 'connecting' }
  | { phase: 'connected' }
  /** Someone else is connected: take over, or wait. */
  | { phase: 'busy'; message: string }
  | { phase: 'closed'; code: number; words: string }
  /** Closed for a reason that passes (the VM stopped, restarted, moved; the network): trying again. */
  | { phase: 'reconnecting'; attempt: number; words: string }
  | { phase: 'failed'; error: UiError };

/** The subprotocols the webview offers: the framing, and the token. */
export const protocolsOf = (ticket: ConsoleTicketView): string[] => ['binary', ticket.protocol];

/** Why a console closed, in words, from the close frame the gateway sent. */
export function closeWords(code: number, reason: string): string {
  switch (code) {
    case 4001:
      return 'Someone else took over this console.';
    case 4002:
      return 'The VM stopped.';
    case 4003:
      return 'The VM restarted.';
    case 4004:
      return 'The VM moved to another node (migrated).';
    case 4005:
      return 'The network connection to the cluster was lost.';
    case 1000:
      return reason ? `The console was closed: ${reason}.` : 'The console was closed.';
    case 1001:
      return reason ? `The console ended: ${reason}.` : 'The console ended.';
    case 1006:
      return 'The connection to the console was lost (the console gateway stopped answering).';
    case 1009:
      return 'The console sent a message too large to show.';
    case 1011:
      return reason ? `The console failed: ${reason}.` : 'The console failed on the cluster side.';
    default:
      return reason ? `The console closed: ${reason} (code ${code}).` : `The console closed (code ${code}).`;
  }
}

/** Closes after which the console tries again by itself (not a takeover, not a plain close). */
export const comesBack = (code: number): boolean => [4002, 4003, 4004, 4005, 1001, 1006, 1011].includes(code);

/** The wait before reconnect attempt `attempt` (1, 2, ...): 1 s doubling, at most 15 s. */
export const backoffMs = (attempt: number): number => Math.min(15_000, 1000 * 2 ** Math.max(0, attempt - 1));

type Schedule = (run: () => void, ms: number) => () => void;
const timers: Schedule = (run, ms) => {
  const id = setTimeout(run, ms);
  return () => clearTimeout(id);
};

export class ConsoleSession {
  state = $state<ConsolePhase>({ phase: 'opening', takeover: false });
  /** The ticket the component connects with; a new one for every (re)open. */
  ticket = $state.raw<ConsoleTicketView | null>(null);
  /** The last picture of the screen (a data URL), shown while the console comes back. */
  lastFrame = $state<string | null>(null);
  private generation = 0;
  private cancelRetry: (() => void) | null = null;

  constructor(
    private readonly backend: Backend,
    readonly cluster: string,
    readonly namespace: string,
    readonly name: string,
    readonly kind: ConsoleKindView,
    private readonly schedule: Schedule = timers,
  ) {}

  /** Opens the console (again); with `takeover` the VM's other VNC session is closed. */
  async open(takeover = false): Promise<void> {
    this.stopRetrying();
    this.state = { phase: 'opening', takeover };
    await this.dial(takeover, null);
  }

  /** One attempt; `retry` carries the attempt number and why the console closed. */
  private async dial(takeover: boolean, retry: { attempt: number; words: string } | null): Promise<void> {
    const asked = ++this.generation;
    this.ticket = null;
    try {
      const ticket = await this.backend.openConsole({
        cluster: this.cluster,
        namespace: this.namespace,
        name: this.name,
        kind: this.kind,
        takeover,
      });
      if (asked !== this.generation) return;
      this.state = { phase: 'connecting' };
      this.ticket = ticket;
    } catch (e) {
      if (asked !== this.generation) return;
      const error = e as UiError;
      if (error.code === 'session_in_use') this.state = { phase: 'busy', message: error.message };
      else if (retry) this.retryLater(retry.attempt + 1, retry.words);
      else this.state = { phase: 'failed', error };
    }
  }

  private retryLater(attempt: number, words: string): void {
    this.stopRetrying();
    this.state = { phase: 'reconnecting', attempt, words };
    this.cancelRetry = this.schedule(() => {
      this.cancelRetry = null;
      void this.dial(false, { attempt, words });
    }, backoffMs(attempt));
  }

  private stopRetrying(): void {
    this.cancelRetry?.();
    this.cancelRetry = null;
  }

  /** "Stop reconnecting": stays closed with the reason. */
  giveUp(): void {
    if (this.state.phase !== 'reconnecting') return;
    const words = this.state.words;
    this.stopRetrying();
    this.generation++;
    this.state = { phase: 'closed', code: 0, words };
  }

  /** Keeps the screen's last picture to show while reconnecting. */
  keepFrame(ticket: ConsoleTicketView, frame: string | null): void {
    if (ticket === this.ticket && frame) this.lastFrame = frame;
  }

  /** The socket of the current ticket opened (and the console answered). */
  connected(ticket: ConsoleTicketView): void {
    if (ticket !== this.ticket) return;
    this.state = { phase: 'connected' };
    this.lastFrame = null;
  }

  /** The socket of `ticket` closed with this frame. */
  closed(ticket: ConsoleTicketView, code: number, reason: string): void {
    if (ticket !== this.ticket) return;
    const words = closeWords(code, reason);
    // Serial re-dials a restarted or migrated VM inside the gateway; its other closes come back here.
    if (comesBack(code)) this.retryLater(1, words);
    else this.state = { phase: 'closed', code, words };
  }

  /** "Wait": leave the other session alone; the user may try again later. */
  wait(): void {
    this.stopRetrying();
    this.generation++;
    this.state = { phase: 'closed', code: 0, words: 'Someone else is using this console; you chose to wait. Connect again when they are done.' };
  }

  /** Stops listening (the component closes its socket). */
  leave(): void {
    this.stopRetrying();
    this.generation++;
    this.ticket = null;
  }
}
