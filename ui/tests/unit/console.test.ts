// A console session: the ticket from open_console, a busy VNC asking before a takeover (which
// reopens with takeover), close frames in words, and an older ticket's events ignored.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/lib/backend';
import type { ConsoleTicketView, OpenConsoleInput, UiError } from '../../src/lib/generated';
import { backoffMs, closeWords, comesBack, ConsoleSession, protocolsOf } from '../../src/lib/console.svelte';

const ticket = (n: number): ConsoleTicketView => ({ url: 'ws://127.0.0.1:4000/console', protocol: `vmdeck-console.tok${n}`, expires_in_ms: 60_000 });
const busy: UiError = { code: 'session_in_use', message: 'dev/web-01 has a VNC session open', field: null };

function backendAnswering(answers: (ConsoleTicketView | UiError)[], asked: OpenConsoleInput[]): Backend {
  return {
    openConsole: async (input: OpenConsoleInput) => {
      asked.push(input);
      const answer = answers.shift();
      if (!answer || 'code' in answer) throw answer;
      return answer;
    },
  } as unknown as Backend;
}

describe('console session', () => {
  it('offers the framing and the token as subprotocols', () => {
    expect(protocolsOf(ticket(1))).toEqual(['binary', 'vmdeck-console.tok1']);
  });

  it('opens, connects and closes with the reason in words', async () => {
    const asked: OpenConsoleInput[] = [];
    const session = new ConsoleSession(backendAnswering([ticket(1)], asked), 'lab', 'dev', 'web-01', 'serial');
    await session.open();
    expect(asked).toEqual([{ cluster: 'lab', namespace: 'dev', name: 'web-01', kind: 'serial', takeover: false }]);
    expect(session.state).toEqual({ phase: 'connecting' });
    const current = session.ticket!;
    session.connected(current);
    expect(session.state).toEqual({ phase: 'connected' });
    session.closed(current, 1000, '');
    expect(session.state).toEqual({ phase: 'closed', code: 1000, words: 'The console was closed.' });
  });

  it('a stopped VM: reconnecting with backoff (attempt n), the last frame kept, then connected', async () => {
    const notRunning: UiError = { code: 'not_running', message: 'dev/web-01 is not running', field: null };
    const asked: OpenConsoleInput[] = [];
    const waits: number[] = [];
    let next: (() => void) | null = null;
    const session = new ConsoleSession(
      backendAnswering([ticket(1), notRunning, notRunning, ticket(2)], asked),
      'lab', 'dev', 'web-01', 'vnc',
      (run, ms) => {
        waits.push(ms);
        next = run;
        return () => (next = null);
      },
    );
    await session.open();
    const first = session.ticket!;
    session.connected(first);
    session.keepFrame(first, 'data:image/png;base64,AAAA');
    session.closed(first, 4002, 'VM stopped');
    expect(session.state).toEqual({ phase: 'reconnecting', attempt: 1, words: 'The VM stopped.' });
    expect(session.lastFrame).toBe('data:image/png;base64,AAAA');
    const step = async () => {
      const run = next!;
      next = null;
      run();
      await new Promise((resolve) => setTimeout(resolve, 0));
    };
    await step();
    expect(session.state).toEqual({ phase: 'reconnecting', attempt: 2, words: 'The VM stopped.' });
    await step();
    expect(session.state).toEqual({ phase: 'reconnecting', attempt: 3, words: 'The VM stopped.' });
    await step();
    expect(session.state).toEqual({ phase: 'connecting' });
    expect(waits).toEqual([1000, 2000, 4000]);
    expect(asked.map((a) => a.takeover)).toEqual([false, false, false, false]);
    session.connected(session.ticket!);
    expect(session.state).toEqual({ phase: 'connected' });
    expect(session.lastFrame).toBeNull();
  });

  it('a takeover does not come back by itself; Stop reconnecting stays closed; leaving cancels the retry', async () => {
    let scheduled = 0;
    let cancelled = 0;
    const session = new ConsoleSession(backendAnswering([ticket(1), ticket(2)], []), 'lab', 'dev', 'web-01', 'vnc', () => {
      scheduled++;
      return () => cancelled++;
    });
    await session.open();
    session.closed(session.ticket!, 4001, 'taken over by another session');
    expect(session.state.phase).toBe('closed');
    expect(scheduled).toBe(0);
    await session.open();
    session.closed(session.ticket!, 4005, 'network lost');
    expect(session.state).toEqual({ phase: 'reconnecting', attempt: 1, words: 'The network connection to the cluster was lost.' });
    session.giveUp();
    expect(session.state).toEqual({ phase: 'closed', code: 0, words: 'The network connection to the cluster was lost.' });
    expect(cancelled).toBe(1);
  });

  it('which closes come back, and the backoff', () => {
    expect([4002, 4003, 4004, 4005, 1006].every(comesBack)).toBe(true);
    expect([4001, 1000].some(comesBack)).toBe(false);
    expect([1, 2, 3, 4, 5, 6, 10].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });

  it('a busy VNC asks; Take over opens again with takeover, Wait leaves it alone', async () => {
    const asked: OpenConsoleInput[] = [];
    const session = new ConsoleSession(backendAnswering([busy, busy, ticket(2)], asked), 'lab', 'dev', 'web-01', 'vnc');
    await session.open();
    expect(session.state).toEqual({ phase: 'busy', message: busy.message });
    expect(session.ticket).toBeNull();
    session.wait();
    expect(session.state.phase).toBe('closed');
    await session.open();
    expect(session.state.phase).toBe('busy');
    await session.open(true);
    expect(asked.map((a) => a.takeover)).toEqual([false, false, true]);
    expect(session.state).toEqual({ phase: 'connecting' });
    expect(session.ticket).toEqual(ticket(2));
  });

  it('other failures keep their code', async () => {
    const refused: UiError = { code: 'not_running', message: 'dev/web-01 is not running', field: null };
    const session = new ConsoleSession(backendAnswering([refused], []), 'lab', 'dev', 'web-01', 'vnc');
    await session.open();
    expect(session.state).toEqual({ phase: 'failed', error: refused });
  });

  it("an older ticket's socket events do not change the current state", async () => {
    const session = new ConsoleSession(backendAnswering([ticket(1), ticket(2)], []), 'lab', 'dev', 'web-01', 'vnc');
    await session.open();
    const old = session.ticket!;
    await session.open();
    session.closed(old, 4001, 'taken over by another session');
    expect(session.state).toEqual({ phase: 'connecting' });
    session.connected(old);
    expect(session.state).toEqual({ phase: 'connecting' });
  });

  it('an answer for an earlier open is dropped', async () => {
    let first: (t: ConsoleTicketView) => void = () => {};
    const answers = [new Promise<ConsoleTicketView>((resolve) => (first = resolve)), Promise.resolve(ticket(2))];
    const session = new ConsoleSession({ openConsole: () => answers.shift()! } as unknown as Backend, 'lab', 'dev', 'web-01', 'vnc');
    const older = session.open();
    await session.open(true);
    first(ticket(1));
    await older;
    expect(session.ticket).toEqual(ticket(2));
  });

  it('names every close the gateway sends', () => {
    expect(closeWords(4001, 'taken over by another session')).toBe('Someone else took over this console.');
    expect(closeWords(4003, '')).toBe('The VM restarted.');
    expect(closeWords(4004, '')).toBe('The VM moved to another node (migrated).');
    expect(closeWords(4005, '')).toBe('The network connection to the cluster was lost.');
    expect(closeWords(1001, 'the console gateway stopped')).toBe('The console ended: the console gateway stopped.');
    expect(closeWords(1006, '')).toMatch(/connection to the console was lost/);
    expect(closeWords(4999, 'odd')).toBe('The console closed: odd (code 4999).');
  });
});
