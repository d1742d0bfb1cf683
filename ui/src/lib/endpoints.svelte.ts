// A cluster card's endpoints: direct and proxied (the Spectro-style reverse proxy), which one
// answers and which one is in use, "Add proxied access" and the one-click switch.
import type { Backend } from './backend';
import type { AddProxiedInput, EndpointKindView, EndpointsView, UiError } from './generated';

/** What the "Add proxied access" form holds: text as typed; empty means "from the pack". */
export interface ProxiedForm {
  proxyHost: string;
  port: string;
  clusterUid: string;
  address: string;
  proxyUrl: string;
}

export const emptyProxiedForm = (): ProxiedForm => ({ proxyHost: '', port: '', clusterUid: '', address: '', proxyUrl: '' });

const orNull = (text: string): string | null => (text.trim() === '' ? null : text.trim());

/** The request for a form, or the field at fault (the port must be a number 1-65535). */
export function proxiedInput(cluster: string, form: ProxiedForm): AddProxiedInput | UiError {
  let port: number | null = null;
  if (form.port.trim() !== '') {
    port = Number(form.port.trim());
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return { code: 'invalid_endpoint', message: 'port: must be a number from 1 to 65535 (the proxy\'s HTTPS port, usually 443)', field: 'port' };
    }
  }
  return {
    cluster,
    proxy_host: orNull(form.proxyHost),
    port,
    cluster_uid: orNull(form.clusterUid),
    address: orNull(form.address),
    ca_pem: null,
    proxy_url: orNull(form.proxyUrl),
    use_it: true,
  };
}

type EndpointCalls = Pick<Backend, 'clusterEndpoints' | 'addProxiedAccess' | 'useEndpoint'>;

export class EndpointsModel {
  view = $state<EndpointsView | null>(null);
  error = $state<UiError | null>(null);
  busy = $state(false);

  constructor(
    private readonly backend: EndpointCalls,
    readonly cluster: string,
  ) {}

  private async run(work: () => Promise<EndpointsView>): Promise<boolean> {
    this.busy = true;
    try {
      this.view = await work();
      this.error = null;
      return true;
    } catch (error) {
      this.error = error as UiError;
      return false;
    } finally {
      this.busy = false;
    }
  }

  load(): Promise<boolean> {
    return this.run(() => this.backend.clusterEndpoints({ name: this.cluster }));
  }

  async addProxied(form: ProxiedForm): Promise<boolean> {
    const input = proxiedInput(this.cluster, form);
    if ('code' in input) {
      this.error = input;
      return false;
    }
    return this.run(() => this.backend.addProxiedAccess(input));
  }

  /** One click: switch, then check both again. */
  async switchTo(endpoint: EndpointKindView): Promise<boolean> {
    return this.run(async () => {
      await this.backend.useEndpoint({ cluster: this.cluster, endpoint });
      return this.backend.clusterEndpoints({ name: this.cluster });
    });
  }
}
