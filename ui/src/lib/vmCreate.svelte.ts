// The "Create VM" screen: the form's choices from the core (`vm_form_choices`, again when the
// namespace changes), the review (`review_vm`: field errors at their fields, or the exact YAML),
// the create (`create_vm`), then the disk import followed live (`watch_vm_disks`) and the VM's
// row (`watch_vms` for its namespace) until it runs and its consoles can open.
import type { Backend } from './backend';
import type { DraftFieldErrorView, UiError, VmFormChoicesView, VmRowView } from './generated';
import { applyVmUpdate } from './vms';
import { applyDiskEvent, emptyForm, emptyImport, errorsAt, toDraft, withDefaults, type CreateForm, type ImportState } from './vmDashboard';

export type CreateStep = 'form' | 'review' | 'creating' | 'progress';

export class VmCreateModel {
  form = $state<CreateForm>(emptyForm());
  choices = $state.raw<VmFormChoicesView | null>(null);
  choicesError = $state<UiError | null>(null);
  step = $state<CreateStep>('form');
  busy = $state(false);
  errors = $state.raw<DraftFieldErrorView[]>([]);
  /** A failure that is not a field's (the cluster did not answer, ...). */
  failure = $state<UiError | null>(null);
  yaml = $state<string | null>(null);
  created = $state<{ namespace: string; name: string } | null>(null);
  imports = $state.raw<ImportState>(emptyImport());
  row = $state.raw<VmRowView | null>(null);
  /** Each request's number: an answer for an older one is dropped. */
  private asked = 0;
  private stoppers: AbortController[] = [];
  private rowMap = new Map<string, VmRowView>();

  constructor(
    private readonly backend: Backend,
    readonly cluster: string,
  ) {}

  readonly at = $derived(errorsAt(this.errors));
  /** The VM runs and its consoles can open. */
  readonly running = $derived(this.row !== null && this.row.consoles);

  /** Reads the choices (for the form's namespace: its namespaced instancetypes too). */
  async loadChoices(): Promise<void> {
    const asked = ++this.asked;
    try {
      const choices = await this.backend.vmFormChoices({ cluster: this.cluster, namespace: this.form.namespace || null });
      if (asked !== this.asked) return;
      this.choices = choices;
      this.choicesError = null;
      this.form = withDefaults(this.form, choices);
    } catch (error) {
      if (asked === this.asked) this.choicesError = error as UiError;
    }
  }

  /** Checks the draft and shows the objects; field errors stay on the form. */
  async review(): Promise<void> {
    const asked = ++this.asked;
    this.busy = true;
    this.failure = null;
    try {
      const answer = await this.backend.reviewVm({ cluster: this.cluster, draft: toDraft(this.form) });
      if (asked !== this.asked) return;
      this.errors = answer.errors;
      this.yaml = answer.yaml;
      if (answer.errors.length === 0 && answer.yaml !== null) this.step = 'review';
    } catch (error) {
      if (asked === this.asked) this.failure = error as UiError;
    } finally {
      if (asked === this.asked) this.busy = false;
    }
  }

  back(): void {
    this.step = 'form';
  }

  /** Creates the VM, then follows its disks and its row. */
  async create(): Promise<void> {
    const asked = ++this.asked;
    this.step = 'creating';
    this.failure = null;
    try {
      const answer = await this.backend.createVm({ cluster: this.cluster, draft: toDraft(this.form) });
      if (asked !== this.asked) return;
      if (answer.created === null) {
        this.errors = answer.errors;
        this.step = 'form';
        return;
      }
      this.created = { namespace: answer.created.namespace, name: answer.created.name };
      this.step = 'progress';
      this.follow(answer.created.namespace, answer.created.name);
    } catch (error) {
      if (asked !== this.asked) return;
      this.failure = error as UiError;
      this.step = 'review';
    }
  }

  private follow(namespace: string, name: string): void {
    const disks = new AbortController();
    const rows = new AbortController();
    this.stoppers.push(disks, rows);
    this.imports = emptyImport();
    this.backend
      .watchVmDisksUntil({ cluster: this.cluster, namespace, name }, (event) => (this.imports = applyDiskEvent(this.imports, event)), disks.signal)
      .catch((error: UiError) => (this.failure = error));
    this.backend
      .watchVmsUntil(
        { cluster: this.cluster, namespace },
        (event) => {
          this.rowMap = applyVmUpdate(this.rowMap, event);
          this.row = this.rowMap.get(`${namespace}/${name}`) ?? null;
        },
        rows.signal,
      )
      .catch((error: UiError) => (this.failure = error));
  }

  stop(): void {
    this.asked++;
    for (const stopper of this.stoppers) stopper.abort();
    this.stoppers = [];
  }
}
