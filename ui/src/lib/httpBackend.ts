// HTTP transport to `vmdeck-devserver`: `POST /api/<method>` with the request as JSON.
import type { Transport } from './backend';

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export function httpTransport(fetchFn: Fetch, base: string): Transport {
  return async (method, request) => {
    let response: Response;
    try {
      response = await fetchFn(`${base}/api/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request ?? null),
      });
    } catch (reason) {
      throw {
        code: 'backend_unreachable',
        message: `the VMDeck dev server is not answering (${String(reason)}); start it with: cargo run -p vmdeck-desktop-core --bin vmdeck-devserver`,
        field: null,
      };
    }
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      throw body ?? { code: 'http_error', message: `the dev server answered ${response.status}`, field: null };
    }
    return body;
  };
}
