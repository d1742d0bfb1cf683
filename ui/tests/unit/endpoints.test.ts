import { describe, expect, it } from 'vitest';
import { EndpointsModel, emptyProxiedForm, proxiedInput } from '../../src/lib/endpoints.svelte';
import type { EndpointsView, UseEndpointInput } from '../../src/lib/generated';

const view = (inUse: 'direct' | 'proxied'): EndpointsView => ({
  cluster: 'lab',
  in_use: inUse,
  endpoints: [
    { kind: 'direct', server: 'https://10.0.0.1:6443', tls_server_name: null, proxy_url: null, answers: false, in_use: inUse === 'direct', failure: null },
    { kind: 'proxied', server: 'https://127.0.0.1:8443', tls_server_name: 'cluster-c1.proxy.test', proxy_url: null, answers: true, in_use: inUse === 'proxied', failure: null },
  ],
});

describe('proxied access form', () => {
  it('leaves empty fields to the pack and trims the rest', () => {
    const input = proxiedInput('lab', { ...emptyProxiedForm(), clusterUid: ' c1 ', port: '8443' });
    expect(input).toEqual({ cluster: 'lab', proxy_host: null, port: 8443, cluster_uid: 'c1', address: null, ca_pem: null, proxy_url: null, use_it: true });
  });

  it('names the port when it is not a port', () => {
    for (const port of ['0', '70000', 'https', '1.5']) {
      const input = proxiedInput('lab', { ...emptyProxiedForm(), port });
      expect(input).toMatchObject({ code: 'invalid_endpoint', field: 'port' });
    }
  });
});

describe('endpoints model', () => {
  it('switches in one call and shows the endpoints checked again', async () => {
    const switched: UseEndpointInput[] = [];
    let inUse: 'direct' | 'proxied' = 'direct';
    const model = new EndpointsModel(
      {
        clusterEndpoints: async () => view(inUse),
        addProxiedAccess: async () => view('proxied'),
        useEndpoint: async (input) => {
          switched.push(input);
          inUse = input.endpoint;
          return { name: 'lab' } as never;
        },
      },
      'lab',
    );
    await model.load();
    expect(model.view?.in_use).toBe('direct');
    expect(await model.switchTo('proxied')).toBe(true);
    expect(switched).toEqual([{ cluster: 'lab', endpoint: 'proxied' }]);
    expect(model.view?.in_use).toBe('proxied');
    expect(model.error).toBeNull();
  });

  it('keeps the error of a refused add with its field', async () => {
    const model = new EndpointsModel(
      {
        clusterEndpoints: async () => view('direct'),
        addProxiedAccess: async () => Promise.reject({ code: 'proxy_value_missing', message: 'enter it', field: 'proxy_host' }),
        useEndpoint: async () => ({}) as never,
      },
      'lab',
    );
    expect(await model.addProxied(emptyProxiedForm())).toBe(false);
    expect(model.error?.field).toBe('proxy_host');
  });
});
