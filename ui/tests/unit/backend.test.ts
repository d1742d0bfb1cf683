// The backend over its transports: call names and bodies from the generated table, the token,
// streams over a websocket, and errors kept as UiError codes.
import { describe, expect, it } from 'vitest';
import { backendOver, toUiError } from '../../src/lib/backend';
import { callNames, coreClient, streamNames, type CoreTransport } from '../../src/lib/generated/calls';
import { httpTransport, type SocketLike } from '../../src/lib/httpBackend';

type Call = { url: string; init: RequestInit };

function fakeFetch(status: number, body: unknown, calls: Call[]) {
  return async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  };
}

const noSockets = () => {
  throw new Error('no websocket in this test');
};

function http(status: number, body: unknown, calls: Call[], origin = '') {
  return backendOver(httpTransport(fakeFetch(status, body, calls), origin, 'tok', noSockets), 'http', async () => null);
}

/** A websocket double that answers like the dev server: events, then the answer. */
class FakeSocket implements SocketLike {
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  sent: string[] = [];
  constructor(
    readonly url: string,
    readonly protocols: string[],
    private readonly frames: unknown[],
  ) {
    queueMicrotask(() => this.onopen?.({} as Event));
  }
  send(data: string) {
    this.sent.push(data);
    for (const frame of this.frames) this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent);
    this.onclose?.({ code: 1000, reason: '' } as CloseEvent);
  }
  close() {}
}

describe('generated client', () => {
  it('has one method per declared call and sends each under its declared name', async () => {
    const seen: string[] = [];
    const recording: CoreTransport = {
      call: async (name) => {
        seen.push(name);
        return null as never;
      },
      stream: async (name) => {
        seen.push(name);
        return null as never;
      },
    };
    const client = coreClient(recording) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    expect(Object.keys(client)).toHaveLength(callNames.length + streamNames.length);
    for (const method of Object.values(client)) await method({}, () => {});
    expect(seen).toEqual([...callNames, ...streamNames]);
  });
});

describe('http backend', () => {
  it('posts the request as JSON to /api/<name> with the token', async () => {
    const calls: Call[] = [];
    const view = await http(200, { cluster: 'a', reachable: true }, calls, 'http://x').checkCluster({ name: 'a' });
    expect(view.reachable).toBe(true);
    expect(calls[0]?.url).toBe('http://x/api/check_cluster');
    expect(calls[0]?.init.method).toBe('POST');
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual({ name: 'a' });
    const headers = calls[0]?.init.headers as Record<string, string>;
    expect(headers['content-type']).toBe('application/json');
    expect(headers['x-vmdeck-token']).toBe('tok');
  });

  it('sends null for calls without a request', async () => {
    const calls: Call[] = [];
    expect(await http(200, [], calls).listClusters()).toEqual([]);
    expect(calls[0]?.init.body).toBe('null');
  });

  it('rejects with the core error, code and field intact', async () => {
    const error = { code: 'kubeconfig_invalid_field', message: 'users[0].user.token: empty', field: 'users[0].user.token' };
    await expect(http(422, error, []).inspectKubeconfig({ kind: 'text', text: 'x' })).rejects.toEqual(error);
  });

  it('turns a dead server into backend_unreachable', async () => {
    const failing = async () => {
      throw new TypeError('fetch failed');
    };
    const backend = backendOver(httpTransport(failing, '', 'tok', noSockets), 'http', async () => null);
    await expect(backend.listClusters()).rejects.toMatchObject({ code: 'backend_unreachable' });
  });

  it('runs a stream over a websocket: token as subprotocol, request first, events, then the answer', async () => {
    const sockets: FakeSocket[] = [];
    const event = { cluster: 'a', check: null, error: { code: 'x', message: 'm', field: null } };
    const open = (url: string, protocols: string[]) => {
      const socket = new FakeSocket(url, protocols, [{ event }, { answer: null }]);
      sockets.push(socket);
      return socket;
    };
    const backend = backendOver(httpTransport(fakeFetch(200, {}, []), 'http://127.0.0.1:9', 'tok', open), 'http', async () => null);
    const events: unknown[] = [];
    await expect(backend.checkClusters({ names: ['a'] }, (e) => events.push(e))).resolves.toBeNull();
    expect(events).toEqual([event]);
    expect(sockets[0]?.url).toBe('ws://127.0.0.1:9/api/stream/check_clusters');
    expect(sockets[0]?.protocols).toEqual(['vmdeck-token.tok']);
    expect(JSON.parse(sockets[0]?.sent[0] ?? '')).toEqual({ names: ['a'] });
  });

  it('rejects a stream with its error, or when the socket closes before the answer', async () => {
    const error = { code: 'token_required', message: 'm', field: null };
    const failing = backendOver(
      httpTransport(fakeFetch(200, {}, []), '', 'tok', (u, p) => new FakeSocket(u, p, [{ error }])),
      'http',
      async () => null,
    );
    await expect(failing.checkClusters({ names: [] }, () => {})).rejects.toEqual(error);
    const cut = backendOver(httpTransport(fakeFetch(200, {}, []), '', 'tok', (u, p) => new FakeSocket(u, p, [])), 'http', async () => null);
    await expect(cut.checkClusters({ names: [] }, () => {})).rejects.toMatchObject({ code: 'backend_unreachable' });
  });
});

describe('wizard calls', () => {
  it('use the core call names and send the request as is', async () => {
    const calls: Call[] = [];
    const backend = http(200, {}, calls);
    await backend.wizardCatalog();
    await backend.resolvePacks({ packs: ['vm-dashboard'] });
    await backend.gateTable({ pack: 'kubevirt', version: '1.9.0', choices: null, version_changed: false });
    await backend.saveProfile({
      draft: { name: 'p', description: null, preset: null, packs: [] },
      location: { kind: 'named', name: 'p' },
    });
    await backend.loadProfile({ kind: 'named', name: 'p.yaml' });
    await backend.storePackSecret({ cluster: null, pack: 'spectro-proxy', key: 'token', value: 's' });
    expect(calls.map((c) => c.url)).toEqual([
      '/api/wizard_catalog', '/api/resolve_packs', '/api/gate_table', '/api/save_profile', '/api/load_profile',
      '/api/store_pack_secret',
    ]);
    expect(JSON.parse(String(calls[2]?.init.body))).toEqual({ pack: 'kubevirt', version: '1.9.0', choices: null, version_changed: false });
  });

  it('have no native profile dialogs in the browser, and use the given ones otherwise', async () => {
    const browser = http(200, {}, []);
    expect(await browser.pickProfileSaveLocation('p.yaml')).toBeNull();
    expect(await browser.pickProfileOpenLocation()).toBeNull();
    const nothing: CoreTransport = { call: async () => null as never, stream: async () => null as never };
    const native = backendOver(nothing, 'tauri', async () => null, {
      save: async (name) => ({ kind: 'path', path: `/home/me/${name}` }),
      open: async () => ({ kind: 'path', path: '/home/me/x.yaml' }),
    });
    expect(await native.pickProfileSaveLocation('p.yaml')).toEqual({ kind: 'path', path: '/home/me/p.yaml' });
    expect(await native.pickProfileOpenLocation()).toEqual({ kind: 'path', path: '/home/me/x.yaml' });
  });
});

describe('toUiError', () => {
  it('keeps coded errors and wraps anything else', () => {
    expect(toUiError({ code: 'x', message: 'm' })).toEqual({ code: 'x', message: 'm', field: null });
    expect(toUiError('boom')).toMatchObject({ code: 'transport_failed' });
  });

  it('keeps the cluster a name_exists error is about', () => {
    const taken = { code: 'name_exists', message: 'a cluster named "lab" already exists', field: null, cluster: 'lab' };
    expect(toUiError(taken)).toEqual(taken);
    expect(toUiError({ code: 'x', message: 'm', field: null, cluster: 7 })).not.toHaveProperty('cluster');
  });
});
