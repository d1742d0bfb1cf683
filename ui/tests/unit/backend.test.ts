// The backend interface over HTTP: method names, request bodies, and errors kept as UiError codes.
import { describe, expect, it } from 'vitest';
import { backendOver, toUiError } from '../../src/lib/backend';
import { httpTransport } from '../../src/lib/httpBackend';

type Call = { url: string; init: RequestInit };

function fakeFetch(status: number, body: unknown, calls: Call[]) {
  return async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  };
}

describe('http backend', () => {
  it('posts the request as JSON to /api/<method>', async () => {
    const calls: Call[] = [];
    const backend = backendOver(httpTransport(fakeFetch(200, { cluster: 'a', reachable: true }, calls), 'http://x'), 'http', async () => null);
    const view = await backend.checkCluster({ name: 'a' });
    expect(view.reachable).toBe(true);
    expect(calls[0]?.url).toBe('http://x/api/check_cluster');
    expect(calls[0]?.init.method).toBe('POST');
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual({ name: 'a' });
    expect((calls[0]?.init.headers as Record<string, string>)['content-type']).toBe('application/json');
  });

  it('sends null for methods without a request', async () => {
    const calls: Call[] = [];
    const backend = backendOver(httpTransport(fakeFetch(200, [], calls), ''), 'http', async () => null);
    expect(await backend.listClusters()).toEqual([]);
    expect(calls[0]?.init.body).toBe('null');
  });

  it('rejects with the core error, code and field intact', async () => {
    const error = { code: 'kubeconfig_invalid_field', message: 'users[0].user.token: empty', field: 'users[0].user.token' };
    const backend = backendOver(httpTransport(fakeFetch(422, error, []), ''), 'http', async () => null);
    await expect(backend.inspectKubeconfig({ kind: 'text', text: 'x' })).rejects.toEqual(error);
  });

  it('turns a dead server into backend_unreachable', async () => {
    const failing = async () => {
      throw new TypeError('fetch failed');
    };
    const backend = backendOver(httpTransport(failing, ''), 'http', async () => null);
    await expect(backend.listClusters()).rejects.toMatchObject({ code: 'backend_unreachable' });
  });
});

describe('wizard calls', () => {
  it('use the core method names and send the request as is', async () => {
    const calls: Call[] = [];
    const backend = backendOver(httpTransport(fakeFetch(200, {}, calls), ''), 'http', async () => null);
    await backend.wizardCatalog();
    await backend.resolvePacks({ packs: ['vm-dashboard'] });
    await backend.gateTable({ pack: 'kubevirt', version: '1.9.0' });
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
    expect(JSON.parse(String(calls[2]?.init.body))).toEqual({ pack: 'kubevirt', version: '1.9.0' });
  });

  it('have no native profile dialogs in the browser, and use the given ones otherwise', async () => {
    const browser = backendOver(httpTransport(fakeFetch(200, {}, []), ''), 'http', async () => null);
    expect(await browser.pickProfileSaveLocation('p.yaml')).toBeNull();
    expect(await browser.pickProfileOpenLocation()).toBeNull();
    const native = backendOver(async () => null, 'tauri', async () => null, {
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
