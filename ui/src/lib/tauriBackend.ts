// Tauri IPC transport: every core call is a Tauri command of the same name taking `{request}`;
// a stream also takes `{onEvent}`, a Channel its events arrive through, and `{stopKey}` when the
// page may stop it (`stop_stream {stopKey}`: the core's work stops, the call answers null).
import { Channel, invoke } from '@tauri-apps/api/core';
import { open, save } from '@tauri-apps/plugin-dialog';
import type { StoppableTransport } from './backend';
import type { KubeconfigSource, ProfileLocation } from './generated';

let lastStopKey = 0;

export const tauriTransport: StoppableTransport = {
  call: (name, request) => invoke(name, { request }),
  stream: (name, request, onEvent) => {
    const channel = new Channel<Parameters<typeof onEvent>[0]>();
    channel.onmessage = onEvent;
    return invoke(name, { request, onEvent: channel });
  },
  streamUntil: (name, request, onEvent, signal) => {
    if (signal.aborted) return Promise.resolve(null as never);
    const channel = new Channel<Parameters<typeof onEvent>[0]>();
    channel.onmessage = (event) => {
      if (!signal.aborted) onEvent(event);
    };
    const stopKey = ++lastStopKey;
    signal.addEventListener('abort', () => void invoke('stop_stream', { stopKey }).catch(() => undefined), { once: true });
    return invoke(name, { request, onEvent: channel, stopKey });
  },
};

/** The native open-file dialog; the core reads the file itself (relative paths keep working). */
export async function pickKubeconfigPath(): Promise<KubeconfigSource | null> {
  const path = await open({ multiple: false, directory: false, title: 'Choose a kubeconfig file' });
  return typeof path === 'string' ? { kind: 'path', path } : null;
}

const profileFilters = [{ name: 'VMDeck profile', extensions: ['yaml', 'yml'] }];

/** The native save dialog for a profile file; the core writes it (atomically). */
export async function pickProfileSavePath(suggestedName: string): Promise<ProfileLocation | null> {
  const path = await save({ title: 'Save the profile', defaultPath: suggestedName, filters: profileFilters });
  return typeof path === 'string' ? { kind: 'path', path } : null;
}

/** The native open dialog for a profile file; the core reads and checks it. */
export async function pickProfileOpenPath(): Promise<ProfileLocation | null> {
  const path = await open({ multiple: false, directory: false, title: 'Load a profile', filters: profileFilters });
  return typeof path === 'string' ? { kind: 'path', path } : null;
}

/** The native save dialog for a VM screenshot (PNG); the core writes it. */
export async function pickScreenshotPath(suggestedName: string): Promise<string | null> {
  const path = await save({ title: 'Save the screenshot', defaultPath: suggestedName, filters: [{ name: 'PNG image', extensions: ['png'] }] });
  return typeof path === 'string' ? path : null;
}
