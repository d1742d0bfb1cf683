// Tauri IPC transport: each core method is a `#[tauri::command]` taking one `request` argument.
import { invoke } from '@tauri-apps/api/core';
import { open } from '@tauri-apps/plugin-dialog';
import type { KubeconfigSource } from './generated';

export function tauriTransport(method: string, request?: unknown): Promise<unknown> {
  return invoke(method, request === undefined ? {} : { request });
}

/** The native open-file dialog; the core reads the file itself (relative paths keep working). */
export async function pickKubeconfigPath(): Promise<KubeconfigSource | null> {
  const path = await open({ multiple: false, directory: false, title: 'Choose a kubeconfig file' });
  return typeof path === 'string' ? { kind: 'path', path } : null;
}
