// "Open in viewer": a VM's loopback listener for a native VNC viewer (the core's hand-off),
// launching the installed viewer at it when there is one, else showing the address to point
// one at; Close stops the listener.
import type { Backend } from './backend';
import type { InstalledViewerView, UiError, ViewerView } from './generated';

/** The address a viewer is pointed at. */
export const vncAddress = (view: ViewerView): string => `vnc://${view.address}`;

export class ViewerModel {
  installed = $state<InstalledViewerView | null>(null);
  view = $state<ViewerView | null>(null);
  error = $state<UiError | null>(null);
  busy = $state(false);

  constructor(
    private readonly backend: Backend,
    readonly cluster: string,
    readonly namespace: string,
    readonly name: string,
  ) {}

  /** Which viewer is installed, and a listener already running for this VM. */
  async load(): Promise<void> {
    try {
      const [installed, running] = await Promise.all([this.backend.installedViewer(), this.backend.listViewers()]);
      this.installed = installed;
      this.view = running.find((v) => v.cluster === this.cluster && v.namespace === this.namespace && v.name === this.name) ?? null;
    } catch (error) {
      this.error = error as UiError;
    }
  }

  /** Starts the listener, launching the installed viewer when there is one. */
  async open(): Promise<void> {
    this.busy = true;
    this.error = null;
    try {
      this.view = await this.backend.startViewer({ cluster: this.cluster, namespace: this.namespace, name: this.name, launch: this.installed !== null });
    } catch (error) {
      this.error = error as UiError;
    } finally {
      this.busy = false;
    }
  }

  async close(): Promise<void> {
    this.error = null;
    try {
      await this.backend.stopViewer({ cluster: this.cluster, namespace: this.namespace, name: this.name });
      this.view = null;
    } catch (error) {
      this.error = error as UiError;
    }
  }
}
