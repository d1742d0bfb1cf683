// The install wizard's state: picked packs and versions, gate choices, values and secrets being typed, and
// the core's answers (resolution, gate tables, issues). Every rule lives in the core; this only keeps state.
import type { Backend } from './backend';
import type {
  GateSetting,
  GateTableView,
  LoadedProfileView,
  PackCardView,
  PackSecretView,
  ProfileDraft,
  ProfileIssueView,
  ProfileLocation,
  SavedProfileView,
  SelectionView,
  UiError,
  WizardCatalogView,
} from './generated';
import { copyJson, type Values } from './valueForm';

export type WizardStep = 'packs' | 'gates' | 'values' | 'save' | 'clusters' | 'preflight' | 'plan' | 'install' | 'done';
export const wizardSteps: { step: WizardStep; label: string }[] = [
  { step: 'packs', label: 'Packs' },
  { step: 'gates', label: 'Feature gates' },
  { step: 'values', label: 'Values' },
  { step: 'save', label: 'Save profile' },
  { step: 'clusters', label: 'Clusters' },
  { step: 'preflight', label: 'Preflight' },
  { step: 'plan', label: 'Plan' },
  { step: 'install', label: 'Install' },
  { step: 'done', label: 'Done' },
];

export class WizardModel {
  catalog = $state<WizardCatalogView | null>(null);
  catalogError = $state<UiError | null>(null);
  preset = $state<string | null>(null);
  chosen = $state<string[]>([]);
  selection = $state<SelectionView | null>(null);
  versions = $state<Record<string, string>>({});
  gateTables = $state<Record<string, GateTableView>>({});
  gateErrors = $state<Record<string, UiError>>({});
  gates = $state<Record<string, Record<string, GateSetting>>>({});
  values = $state<Record<string, Values>>({});
  /** Secrets being typed, by pack then key; sent to the secret store only. */
  secrets = $state<Record<string, Record<string, string>>>({});
  secretStatus = $state<Record<string, PackSecretView>>({});
  issues = $state<ProfileIssueView[]>([]);
  yaml = $state('');
  profileName = $state('');
  description = $state('');
  saved = $state<SavedProfileView | null>(null);
  loaded = $state<LoadedProfileView | null>(null);
  /** Why the newest resolution or draft check failed; shown above the step until one succeeds. */
  resolveError = $state<UiError | null>(null);
  checkError = $state<UiError | null>(null);
  private checkTimer: ReturnType<typeof setTimeout> | null = null;
  /** Each kind of request is numbered; only the newest answer of a kind is taken. */
  private readonly latest = { resolve: 0, check: 0, gates: {} as Record<string, number> };
  /** Packs whose gate choices were made for another version and not yet carried over by the core. */
  private readonly versionChangePending = new Set<string>();

  constructor(
    private readonly backend: Backend,
    readonly cluster: string | null,
  ) {}

  async load(): Promise<void> {
    try {
      this.catalog = await this.backend.wizardCatalog();
      this.catalogError = null;
    } catch (error) {
      this.catalogError = error as UiError;
    }
  }

  card(name: string): PackCardView | undefined {
    return this.catalog?.packs.find((p) => p.name === name);
  }

  /** The packs that will be installed, dependencies first. */
  get packs(): string[] {
    return this.selection?.packs.map((p) => p.name) ?? [];
  }

  async choosePreset(name: string): Promise<void> {
    const preset = this.catalog?.presets.find((p) => p.name === name);
    if (!preset) return;
    this.preset = name;
    this.chosen = [...preset.packs];
    if (this.profileName === '') this.profileName = name;
    await this.resolve();
  }

  async togglePack(name: string, on: boolean): Promise<void> {
    this.chosen = on ? [...this.chosen.filter((p) => p !== name), name] : this.chosen.filter((p) => p !== name);
    await this.resolve();
  }

  /** Resolves the picks; new packs start at their default version and values. */
  async resolve(): Promise<void> {
    const asked = ++this.latest.resolve;
    let selection: SelectionView;
    try {
      selection = await this.backend.resolvePacks({ packs: [...this.chosen] });
    } catch (error) {
      if (asked === this.latest.resolve) this.resolveError = error as UiError;
      return;
    }
    if (asked !== this.latest.resolve) return; // the picks changed while this was answered
    this.resolveError = null;
    this.selection = selection;
    this.preset = selection.preset;
    for (const name of this.packs) {
      const card = this.card(name);
      if (!card) continue;
      this.versions[name] ??= card.default_version;
      this.values[name] ??= copyJson(card.default_values) as Values;
    }
    await Promise.all(this.packs.filter((n) => this.card(n)?.gate_component).map((n) => this.loadGates(n, false)));
    await this.refreshSecrets();
    this.scheduleCheck(0);
  }

  async setVersion(pack: string, version: string): Promise<void> {
    this.versions[pack] = version;
    if (this.card(pack)?.gate_component) await this.loadGates(pack, true);
    this.scheduleCheck(0);
  }

  /**
   * Asks the core for a pack's gate table under the current choices; the core answers with the choices in
   * effect (a new pack's profile defaults, or after a version change those still choosable) and each gate's
   * resulting state.
   */
  private async loadGates(pack: string, versionChanged: boolean): Promise<void> {
    const version = this.versions[pack];
    if (!version) return;
    const asked = (this.latest.gates[pack] = (this.latest.gates[pack] ?? 0) + 1);
    if (versionChanged) this.versionChangePending.add(pack);
    const current = this.gates[pack];
    try {
      const table = await this.backend.gateTable({
        pack,
        version,
        choices: current === undefined ? null : { ...current },
        // Still true when a newer ask overtakes the version change's, so that one carries the choices over.
        version_changed: this.versionChangePending.has(pack),
      });
      if (asked !== this.latest.gates[pack]) return; // another version or choice was asked for meanwhile
      this.versionChangePending.delete(pack);
      this.gateTables[pack] = table;
      delete this.gateErrors[pack];
      this.gates[pack] = { ...table.choices } as Record<string, GateSetting>;
    } catch (error) {
      if (asked === this.latest.gates[pack]) this.gateErrors[pack] = error as UiError;
    }
  }

  async setGate(pack: string, gate: string, setting: GateSetting | 'default'): Promise<void> {
    const choices = { ...(this.gates[pack] ?? {}) };
    if (setting === 'default') delete choices[gate];
    else choices[gate] = setting;
    this.gates[pack] = choices;
    this.scheduleCheck();
    await this.loadGates(pack, false);
  }

  draft(): ProfileDraft {
    return {
      name: this.profileName,
      description: this.description.trim() === '' ? null : this.description,
      preset: this.preset,
      packs: this.packs.map((name) => ({
        name,
        version: this.versions[name] ?? this.card(name)?.default_version ?? '',
        values: $state.snapshot(this.values[name] ?? {}) as Values,
        gates: { ...(this.gates[name] ?? {}) },
      })),
    };
  }

  /** Checks the draft soon (after typing pauses). */
  scheduleCheck(delay = 300): void {
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.checkTimer = setTimeout(() => void this.check(), delay);
  }

  async check(): Promise<void> {
    const asked = ++this.latest.check;
    if (this.packs.length === 0) {
      this.issues = [];
      this.yaml = '';
      return;
    }
    try {
      const result = await this.backend.validateProfile(this.draft());
      if (asked !== this.latest.check) return; // the draft changed while this was checked
      this.issues = result.issues;
      this.yaml = result.yaml;
      this.checkError = null;
    } catch (error) {
      if (asked === this.latest.check) this.checkError = error as UiError;
    }
  }

  /** The error to show above the step, if any. */
  get callError(): UiError | null {
    return this.resolveError ?? this.checkError;
  }

  private async refreshSecrets(): Promise<void> {
    const packs = this.packs.filter((p) => this.card(p)?.form.some((f) => f.secret));
    if (packs.length === 0) return;
    try {
      for (const view of await this.backend.packSecretStatus({ cluster: this.cluster, packs })) {
        this.secretStatus[`${view.pack}:${view.key}`] = view;
      }
    } catch {
      // No secret store yet (keyring unavailable): the Values step says so when a secret is stored.
    }
  }

  async storeSecret(pack: string, key: string): Promise<PackSecretView> {
    const value = this.secrets[pack]?.[key] ?? '';
    const view = await this.backend.storePackSecret({ cluster: this.cluster, pack, key, value });
    this.secretStatus[`${pack}:${key}`] = view;
    delete this.secrets[pack]![key];
    return view;
  }

  /** Stores typed secrets, then writes the profile (without them). */
  async save(location: ProfileLocation): Promise<SavedProfileView> {
    for (const [pack, typed] of Object.entries(this.secrets)) {
      for (const [key, value] of Object.entries(typed)) {
        if (value !== '' && this.packs.includes(pack)) await this.storeSecret(pack, key);
      }
    }
    const saved = await this.backend.saveProfile({ draft: this.draft(), location });
    this.saved = saved;
    this.issues = saved.issues;
    return saved;
  }

  /**
   * Takes over a draft the core changed (an automatic fix): versions, values and gates of its packs;
   * packs it no longer has are unpicked.
   */
  async adoptDraft(draft: ProfileDraft): Promise<void> {
    const names = draft.packs.map((p) => p.name);
    for (const pack of draft.packs) {
      this.versions[pack.name] = pack.version;
      this.values[pack.name] = copyJson(pack.values) as Values;
      this.gates[pack.name] = { ...pack.gates } as Record<string, GateSetting>;
    }
    const removed = this.packs.filter((p) => !names.includes(p));
    if (removed.length > 0) {
      this.chosen = this.chosen.filter((p) => !removed.includes(p));
      await this.resolve();
    }
    await this.check();
  }

  /** Reads a profile file and takes over its choices (and shows its issues with their lines). */
  async open(location: ProfileLocation): Promise<LoadedProfileView> {
    const loaded = await this.backend.loadProfile(location);
    this.loaded = loaded;
    this.saved = null;
    const draft = loaded.draft;
    if (draft) {
      this.profileName = draft.name;
      this.description = draft.description ?? '';
      this.preset = draft.preset;
      this.chosen = [...loaded.chosen];
      this.versions = Object.fromEntries(draft.packs.map((p) => [p.name, p.version]));
      this.values = Object.fromEntries(draft.packs.map((p) => [p.name, p.values]));
      this.gates = Object.fromEntries(draft.packs.map((p) => [p.name, { ...p.gates } as Record<string, GateSetting>]));
      this.gateTables = {};
      this.secrets = {};
      await this.resolve();
    }
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.issues = loaded.issues;
    return loaded;
  }
}
