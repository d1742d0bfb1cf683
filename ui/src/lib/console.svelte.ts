// One console (VNC or serial) of one VM: opening it through the core (the gateway URL and a
// one-time token), a VM whose VNC someone else uses (`session_in_use`) asking before taking it
// over, and why it closed in words. The component attaches noVNC or xterm.js to the ticket and
// reports the socket's open and close here.
import type { Backend } from './backend';
import type { ConsoleKindView, ConsoleTicketView, UiError } from './generated';

export type ConsolePhase =
  | { phase: 'opening'; takeover: boolean }
  | { phase: 'connecting' }
  | { phase: 'connected' }
  /** Someone else is connected: take over, or wait. */
  | { phase: 'busy'; message: string }
  | { phase: 'closed'; code: number; words: string }
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

export class ConsoleSession {
  state = $state<ConsolePhase>({ phase: 'opening', takeover: false });
  /** The ticket the component connects with; a new one for every (re)open. */
  ticket = $state.raw<ConsoleTicketView | null>(null);
  private generation = 0;

  constructor(
    private readonly backend: Backend,
    readonly cluster: string,
    readonly namespace: string,
    readonly name: string,
    readonly kind: ConsoleKindView,
  ) {}

  /** Opens the console (again); with `takeover` the VM's other VNC session is closed. */
  async open(takeover = false): Promise<void> {
    const asked = ++this.generation;
    this.ticket = null;
    this.state = { phase: 'opening', takeover };
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
      this.state = error.code === 'session_in_use' ? { phase: 'busy', message: error.message } : { phase: 'failed', error };
    }
  }

  /** The socket of the current ticket opened (and the console answered). */
  connected(ticket: ConsoleTicketView): void {
    if (ticket === this.ticket) this.state = { phase: 'connected' };
  }

  /** The socket of `ticket` closed with this frame. */
  closed(ticket: ConsoleTicketView, code: number, reason: string): void {
    if (ticket !== this.ticket) return;
    this.state = { phase: 'closed', code, words: closeWords(code, reason) };
  }

  /** "Wait": leave the other session alone; the user may try again later. */
  wait(): void {
    this.generation++;
    this.state = { phase: 'closed', code: 0, words: 'Someone else is using this console; you chose to wait. Connect again when they are done.' };
  }

  /** Stops listening (the component closes its socket). */
  leave(): void {
    this.generation++;
    this.ticket = null;
  }
}
