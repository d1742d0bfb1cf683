// Stopping watch_vms: over the dev server the socket closes and the call answers null; over a
// transport without a stop (Tauri IPC) the events after the stop are dropped.
import { describe, expect, it } from 'vitest';
import { backendOver } from '../../src/lib/backend';
import type { CoreTransport } from '../../src/lib/generated/calls';
import type { VmUpdateEvent } from '../../src/lib/generated';
import { httpTransport, type SocketLike } from '../../src/lib/httpBackend';

class HeldSocket implements SocketLike {
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  sent: string[] = [];
  closed = false;
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
    this.onclose?.({ code: 1000, reason: '' } as CloseEvent);
  }
  event(event: unknown) {
    this.onmessage?.({ data: JSON.stringify({ event }) } as MessageEvent);
  }
}

const snapshot: VmUpdateEvent = { kind: 'snapshot', rows: [] };

describe('watch_vms until stopped', () => {
  it('over the dev server: events arrive, then the stop closes the socket and answers null', async () => {
    const socket = new HeldSocket();
    const opened: string[] = [];
    const backend = backendOver(
      httpTransport(async () => new Response('null'), 'http://x', 'tok', (url) => {
        opened.push(url);
        return socket;
      }),
      'http',
      async () => null,
    );
    const stop = new AbortController();
    const events: VmUpdateEvent[] = [];
    const done = backend.watchVmsUntil({ cluster: 'lab', namespace: null }, (e) => events.push(e), stop.signal);
    socket.onopen?.({} as Event);
    expect(opened).toEqual(['ws://x/api/stream/watch_vms']);
    expect(JSON.parse(socket.sent[0]!)).toEqual({ cluster: 'lab', namespace: null });
    socket.event(snapshot);
    expect(events).toEqual([snapshot]);
    stop.abort();
    await expect(done).resolves.toBeNull();
    expect(socket.closed).toBe(true);
    socket.event(snapshot);
    expect(events).toHaveLength(1);
  });

  it('a failed stream still rejects with its UiError', async () => {
    const socket = new HeldSocket();
    const backend = backendOver(httpTransport(async () => new Response('null'), 'http://x', 'tok', () => socket), 'http', async () => null);
    const done = backend.watchVmsUntil({ cluster: 'lab', namespace: null }, () => {}, new AbortController().signal);
    socket.onmessage?.({ data: JSON.stringify({ error: { code: 'kubevirt_missing', message: 'no API', field: null } }) } as MessageEvent);
    await expect(done).rejects.toMatchObject({ code: 'kubevirt_missing' });
  });

  it('over a transport without a stop: later events are dropped and the call answers null', async () => {
    let send: (event: VmUpdateEvent) => void = () => {};
    const ipc: CoreTransport = {
      call: async () => null as never,
      stream: (_name, _request, onEvent) => {
        send = onEvent as (event: VmUpdateEvent) => void;
        return new Promise(() => {});
      },
    };
    const backend = backendOver(ipc, 'tauri', async () => null);
    const stop = new AbortController();
    const events: VmUpdateEvent[] = [];
    const done = backend.watchVmsUntil({ cluster: 'lab', namespace: null }, (e) => events.push(e), stop.signal);
    send(snapshot);
    stop.abort();
    send(snapshot);
    await expect(done).resolves.toBeNull();
    expect(events).toEqual([snapshot]);
  });
});
