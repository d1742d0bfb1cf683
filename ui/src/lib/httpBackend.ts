// Transport to `vmdeck-devserver`: `POST /api/<name>` for calls and a websocket at
// `/api/stream/<name>` for streams, both carrying the token the dev server printed at start.
import type { StreamTable } from './generated/calls';
import type { StoppableTransport } from './backend';

type Fetch = (input: string, init: RequestInit) => Promise<Response>;
/** The parts of a WebSocket the transport uses (the browser's, or a test double). */
export interface SocketLike {
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  send(data: string): void;
  close(): void;
}
type OpenSocket = (url: string, protocols: string[]) => SocketLike;

const tokenKey = 'vmdeck-devserver-token';

/** The dev server's token: from `?token=` when the printed URL was opened (then kept for the
 * tab and removed from the address bar), else the one kept earlier in this tab. */
export function devServerToken(win: Window): string {
  const url = new URL(win.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    win.sessionStorage.setItem(tokenKey, fromUrl);
    url.searchParams.delete('token');
    win.history.replaceState(win.history.state, '', url.toString());
    return fromUrl;
  }
  return win.sessionStorage.getItem(tokenKey) ?? '';
}

const unreachable = (reason: unknown) => ({
  code: 'backend_unreachable',
  message: `the VMDeck dev server is not answering (${String(reason)}); start it with: cargo run -p vmdeck-desktop-core --bin vmdeck-devserver`,
  field: null,
});

export function httpTransport(fetchFn: Fetch, origin: string, token: string, openSocket: OpenSocket): StoppableTransport {
  return {
    call: async (name, request) => {
      let response: Response;
      try {
        response = await fetchFn(`${origin}/api/${name}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-vmdeck-token': token },
          body: JSON.stringify(request ?? null),
        });
      } catch (reason) {
        throw unreachable(reason);
      }
      const body: unknown = await response.json().catch(() => null);
      if (!response.ok) {
        throw body ?? { code: 'http_error', message: `the dev server answered ${response.status}`, field: null };
      }
      return body as never;
    },
    stream: (name, request, onEvent) => stream(name, request, onEvent),
    streamUntil: (name, request, onEvent, signal) => stream(name, request, onEvent, signal),
  };

  function stream<K extends keyof StreamTable>(
    name: K,
    request: StreamTable[K]['request'],
    onEvent: (event: StreamTable[K]['event']) => void,
    signal?: AbortSignal,
  ): Promise<StreamTable[K]['answer']> {
    return new Promise((resolve, reject) => {
        const url = `${origin.replace(/^http/, 'ws')}/api/stream/${name}`;
        let socket: SocketLike;
        try {
          socket = openSocket(url, [`vmdeck-token.${token}`]);
        } catch (reason) {
          reject(unreachable(reason));
          return;
        }
        let settled = false;
        socket.onopen = () => socket.send(JSON.stringify(request ?? null));
        socket.onmessage = (message) => {
          const frame = JSON.parse(String(message.data)) as { event?: unknown; answer?: unknown; error?: unknown };
          if (signal?.aborted) return;
          if ('event' in frame) onEvent(frame.event as never);
          else if ('error' in frame) {
            settled = true;
            reject(frame.error);
          } else if ('answer' in frame) {
            settled = true;
            resolve(frame.answer as never);
          }
        };
        socket.onerror = () => undefined;
        socket.onclose = (close) => {
          if (!settled) reject(unreachable(`the stream closed (${close.code}${close.reason ? ` ${close.reason}` : ''})`));
        };
        // Stopping: the socket closes (the core stops at its next event) and the call answers null.
        signal?.addEventListener(
          'abort',
          () => {
            if (settled) return;
            settled = true;
            socket.close();
            resolve(null as never);
          },
          { once: true },
        );
      });
  }
}
