// The one interface the UI reaches the Rust core through, and the choice of implementation.
import type {
  AppStatus,
  CheckView,
  ClusterRef,
  ClusterView,
  ContextView,
  DraftCheckView,
  GateTableQuery,
  GateTableView,
  ImportInput,
  KubeconfigSource,
  LoadedProfileView,
  PackSecretInput,
  PackSecretQuery,
  PackSecretView,
  PackSelection,
  ProfileDraft,
  ProfileFileView,
  ProfileLocation,
  RenameInput,
  SaveProfileInput,
  SavedProfileView,
  SelectionView,
  UiError,
  WizardCatalogView,
} from './generated';
import { httpTransport } from './httpBackend';
import { tauriTransport, pickKubeconfigPath, pickProfileOpenPath, pickProfileSavePath } from './tauriBackend';

/** Calls one core method by name; rejects with a `UiError`. */
export type Transport = (method: string, request?: unknown) => Promise<unknown>;

export interface Backend {
  readonly kind: 'tauri' | 'http';
  /** True when files are chosen through a native dialog (Tauri); else the UI shows a file input. */
  readonly nativeFileDialog: boolean;
  appStatus(): Promise<AppStatus>;
  useSessionOnly(): Promise<AppStatus>;
  listClusters(): Promise<ClusterView[]>;
  inspectKubeconfig(source: KubeconfigSource): Promise<ContextView[]>;
  importClusters(input: ImportInput): Promise<ClusterView[]>;
  renameCluster(input: RenameInput): Promise<ClusterView>;
  removeCluster(ref: ClusterRef): Promise<void>;
  checkCluster(ref: ClusterRef): Promise<CheckView>;
  startDemo(): Promise<ClusterView>;
  /** Native open-file dialog; `null` when cancelled. */
  pickKubeconfigFile(): Promise<KubeconfigSource | null>;
  /** The install wizard: pack cards and presets, resolution, gate tables, the draft's check. */
  wizardCatalog(): Promise<WizardCatalogView>;
  resolvePacks(selection: PackSelection): Promise<SelectionView>;
  gateTable(query: GateTableQuery): Promise<GateTableView>;
  validateProfile(draft: ProfileDraft): Promise<DraftCheckView>;
  /** Profile files: written atomically by the core; `named` files live in the app's profiles folder. */
  saveProfile(input: SaveProfileInput): Promise<SavedProfileView>;
  loadProfile(location: ProfileLocation): Promise<LoadedProfileView>;
  listProfiles(): Promise<ProfileFileView[]>;
  /** Pack secrets go to the secret store (OS keyring or session memory), never into a profile. */
  storePackSecret(input: PackSecretInput): Promise<PackSecretView>;
  packSecretStatus(query: PackSecretQuery): Promise<PackSecretView[]>;
  /** Native save dialog for a profile (Tauri); `null` when cancelled or in the browser. */
  pickProfileSaveLocation(suggestedName: string): Promise<ProfileLocation | null>;
  /** Native open dialog for a profile (Tauri); `null` when cancelled or in the browser. */
  pickProfileOpenLocation(): Promise<ProfileLocation | null>;
  /** Tells the app its first screen is drawn (start-up benchmark). */
  uiReady(): Promise<void>;
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

/** Native dialogs for profile files; the browser has none (it names files in the app's profiles folder). */
export interface ProfileDialogs {
  save(suggestedName: string): Promise<ProfileLocation | null>;
  open(): Promise<ProfileLocation | null>;
}

const noProfileDialogs: ProfileDialogs = { save: async () => null, open: async () => null };

/** A backend over any transport: the method names are the core's (`dispatch::METHODS`). */
export function backendOver(
  transport: Transport,
  kind: Backend['kind'],
  pickFile: () => Promise<KubeconfigSource | null>,
  profileDialogs: ProfileDialogs = noProfileDialogs,
): Backend {
  const call = async <T>(method: string, request?: unknown): Promise<T> => {
    try {
      return (await transport(method, request)) as T;
    } catch (reason) {
      throw toUiError(reason);
    }
  };
  return {
    kind,
    nativeFileDialog: kind === 'tauri',
    appStatus: () => call('app_status'),
    useSessionOnly: () => call('use_session_only'),
    listClusters: () => call('list_clusters'),
    inspectKubeconfig: (source) => call('inspect_kubeconfig', source),
    importClusters: (input) => call('import_clusters', input),
    renameCluster: (input) => call('rename_cluster', input),
    removeCluster: (ref) => call('remove_cluster', ref),
    checkCluster: (ref) => call('check_cluster', ref),
    startDemo: () => call('start_demo'),
    pickKubeconfigFile: pickFile,
    wizardCatalog: () => call('wizard_catalog'),
    resolvePacks: (selection) => call('resolve_packs', selection),
    gateTable: (query) => call('gate_table', query),
    validateProfile: (draft) => call('validate_profile', draft),
    saveProfile: (input) => call('save_profile', input),
    loadProfile: (location) => call('load_profile', location),
    listProfiles: () => call('list_profiles'),
    storePackSecret: (input) => call('store_pack_secret', input),
    packSecretStatus: (query) => call('pack_secret_status', query),
    pickProfileSaveLocation: (suggestedName) => profileDialogs.save(suggestedName),
    pickProfileOpenLocation: () => profileDialogs.open(),
    uiReady: async () => {
      if (kind === 'tauri') await call('ui_ready');
    },
  };
}

/** Tauri IPC inside the desktop app, else HTTP to the dev server that served this page. */
export function detectBackend(): Backend {
  if (typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window) {
    return backendOver(tauriTransport, 'tauri', pickKubeconfigPath, {
      save: pickProfileSavePath,
      open: pickProfileOpenPath,
    });
  }
  return backendOver(httpTransport(fetch.bind(globalThis), ''), 'http', async () => null);
}
