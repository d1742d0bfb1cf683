// The one interface the UI reaches the Rust core through: the client generated from the core's
// call table, over Tauri IPC (the app) or HTTP and websockets (the dev server), plus the native
// dialogs only the app has.
import type { ClusterRef, DiskEventView, InstalledStatusView, KubeconfigSource, ProfileLocation, UiError, VmRef, VmScope, VmUpdateEvent } from './generated';
import { coreClient, type CoreClient, type CoreTransport, type StreamTable } from './generated/calls';
import { devServerToken, httpTransport } from './httpBackend';
import { consoleRoute, consoleTitle, type ConsoleTarget } from './consoleRoute';
import { tauriTransport, pickKubeconfigPath, pickProfileOpenPath, pickProfileSavePath, pickScreenshotPath } from './tauriBackend';

/** A transport that can also stop a stream it is reading (the dev server's: the socket closes). */
export interface StoppableTransport extends CoreTransport {
  streamUntil?<K extends keyof StreamTable>(
    name: K,
    request: StreamTable[K]['request'],
    onEvent: (event: StreamTable[K]['event']) => void,
    signal: AbortSignal,
  ): Promise<StreamTable[K]['answer']>;
}

export interface Backend extends CoreClient {
  readonly kind: 'tauri' | 'http';
  /** True when files are chosen through a native dialog (Tauri); else the UI shows a file input. */
  readonly nativeFileDialog: boolean;
  /** Native open-file dialog; `null` when cancelled. */
  pickKubeconfigFile(): Promise<KubeconfigSource | null>;
  /** Native save dialog for a profile (Tauri); `null` when cancelled or in the browser. */
  pickProfileSaveLocation(suggestedName: string): Promise<ProfileLocation | null>;
  /** Native open dialog for a profile (Tauri); `null` when cancelled or in the browser. */
  pickProfileOpenLocation(): Promise<ProfileLocation | null>;
  /** Tells the app its first screen is drawn (start-up benchmark). */
  uiReady(): Promise<void>;
  /** `watch_vms` until `signal` aborts, then answers `null` and drops later events; the core's
   * watch stops (the dev server's socket closes; over Tauri IPC `stop_stream`). */
  watchVmsUntil(scope: VmScope, onEvent: (event: VmUpdateEvent) => void, signal: AbortSignal): Promise<null>;
  /** `watch_installed` until `signal` aborts, the same way. */
  watchInstalledUntil(cluster: ClusterRef, onEvent: (status: InstalledStatusView) => void, signal: AbortSignal): Promise<null>;
  /** `watch_vm_disks` (a VM's disk imports) until `signal` aborts, the same way. */
  watchVmDisksUntil(vm: VmRef, onEvent: (event: DiskEventView) => void, signal: AbortSignal): Promise<null>;
  /** Native save dialog for a screenshot (Tauri); `null` when cancelled or in the browser. */
  pickScreenshotSavePath(suggestedName: string): Promise<string | null>;
  /** Opens a console alone in its own window (the app's), or a new browser tab (the dev server's). */
  openConsoleWindow(target: ConsoleTarget): Promise<void>;
}

/** A stream stopped by `signal`: the transport's own stop when it has one, else its events dropped. */
function streamUntil<K extends keyof StreamTable>(
  transport: StoppableTransport,
  name: K,
  request: StreamTable[K]['request'],
  onEvent: (event: StreamTable[K]['event']) => void,
  signal: AbortSignal,
): Promise<StreamTable[K]['answer'] | null> {
  if (transport.streamUntil) return transport.streamUntil(name, request, onEvent, signal).catch((reason: unknown) => Promise.reject(toUiError(reason)));
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve(null);
    signal.addEventListener('abort', () => resolve(null), { once: true });
    transport.stream(name, request, (event) => {
      if (!signal.aborted) onEvent(event);
    }).then(resolve, (reason: unknown) => (signal.aborted ? resolve(null) : reject(toUiError(reason))));
  });
}

/** Any rejection turned into a `UiError`: the core's own, or a transport failure. */
export function toUiError(reason: unknown): UiError {
  if (typeof reason === 'object' && reason !== null && 'code' in reason && 'message' in reason) {
    const r = reason as { code: unknown; message: unknown; field?: unknown; cluster?: unknown };
    const error: UiError = {
      code: String(r.code),
      message: String(r.message),
      field: typeof r.field === 'string' ? r.field : null,
    };
    if (typeof r.cluster === 'string') error.cluster = r.cluster;
    return error;
  }
  return { code: 'transport_failed', message: `the app's backend did not answer: ${String(reason)}`, field: null };
}

/** A transport whose every rejection is a `UiError`. */
export function rejectingWithUiErrors(transport: CoreTransport): CoreTransport {
  return {
    call: (name, request) => transport.call(name, request).catch((reason: unknown) => Promise.reject(toUiError(reason))),
    stream: (name, request, onEvent) =>
      transport.stream(name, request, onEvent).catch((reason: unknown) => Promise.reject(toUiError(reason))),
  };
}

/** Native dialogs for profile files; the browser has none (it names files in the app's profiles folder). */
export interface ProfileDialogs {
  save(suggestedName: string): Promise<ProfileLocation | null>;
  open(): Promise<ProfileLocation | null>;
}

const noProfileDialogs: ProfileDialogs = { save: async () => null, open: async () => null };

/** A backend over any transport. */
export function backendOver(
  transport: StoppableTransport,
  kind: Backend['kind'],
  pickFile: () => Promise<KubeconfigSource | null>,
  profileDialogs: ProfileDialogs = noProfileDialogs,
  uiReady: () => Promise<void> = async () => {},
  pickScreenshotPath: (suggestedName: string) => Promise<string | null> = async () => null,
  openWindow: (target: ConsoleTarget) => Promise<void> = async () => {},
): Backend {
  return {
    ...coreClient(rejectingWithUiErrors(transport)),
    kind,
    nativeFileDialog: kind === 'tauri',
    pickKubeconfigFile: pickFile,
    pickProfileSaveLocation: (suggestedName) => profileDialogs.save(suggestedName),
    pickProfileOpenLocation: () => profileDialogs.open(),
    uiReady: () => uiReady().catch(() => undefined),
    watchVmsUntil: (scope, onEvent, signal) => streamUntil(transport, 'watch_vms', scope, onEvent, signal).then(() => null),
    watchInstalledUntil: (cluster, onEvent, signal) => streamUntil(transport, 'watch_installed', cluster, onEvent, signal).then(() => null),
    watchVmDisksUntil: (vm, onEvent, signal) => streamUntil(transport, 'watch_vm_disks', vm, onEvent, signal).then(() => null),
    pickScreenshotSavePath: (suggestedName) => pickScreenshotPath(suggestedName),
    openConsoleWindow: (target) => openWindow(target).catch((reason: unknown) => Promise.reject(toUiError(reason))),
  };
}

/** Tauri IPC inside the desktop app, else HTTP to the dev server that served this page. */
export function detectBackend(): Backend {
  if (typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window) {
    return backendOver(
      tauriTransport,
      'tauri',
      pickKubeconfigPath,
      { save: pickProfileSavePath, open: pickProfileOpenPath },
      async () => {
        const { invoke } = await import('@tauri-apps/api/core');
        await invoke('ui_ready');
      },
      pickScreenshotPath,
      async (target) => {
        const { invoke } = await import('@tauri-apps/api/core');
        await invoke('open_console_window', { request: { route: consoleRoute(target), title: consoleTitle(target) } });
      },
    );
  }
  const token = devServerToken(window);
  return backendOver(
    httpTransport(fetch.bind(globalThis), window.location.origin, token, (url, protocols) => new WebSocket(url, protocols)),
    'http',
    async () => null,
    noProfileDialogs,
    async () => {},
    async () => null,
    async (target) => browserConsoleWindow(window, token, target),
  );
}

/** The dev server's console window: a new tab at the console route, carrying the token (the
 * new page keeps it for its tab and takes it out of the address bar). */
export function browserConsoleWindow(win: Pick<Window, 'open' | 'location'>, token: string, target: ConsoleTarget): void {
  const url = new URL('/', win.location.origin);
  url.searchParams.set('token', token);
  url.hash = consoleRoute(target);
  if (!win.open(url.toString(), '_blank')) {
    throw { code: 'window_blocked', message: 'the browser did not open a new tab (a pop-up blocker?)', field: null };
  }
}
