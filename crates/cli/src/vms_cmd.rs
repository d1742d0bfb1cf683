//! `vmdeckctl vms list | start | stop | restart | pause | unpause | migrate | softreboot` (and the
//! dashboard verbs of `vms_manage_cmd`): the VM
//! inventory as a table or JSON (`--watch` follows its changes) and power actions with
//! KubeVirt's answers as plain messages.

use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use kube::api::{Api, DynamicObject, ListParams};
use vmdeck_console::inventory::{Inventory, RowChange, Scope, Update, VmRow};
use vmdeck_console::kinds::vm_resource;
use vmdeck_console::{PowerAction, actions::act};

use crate::output_format::{emit, print_table};
use crate::target::TargetArgs;

#[derive(Subcommand)]
pub enum VmsCommand {
    /// The VMs of a namespace (or of all of them) and what can be done with each.
    List(ListArgs),
    /// Start a stopped VM.
    Start(ActionArgs),
    /// Stop a VM (gracefully; `--force`: grace period 0).
    Stop(ActionArgs),
    /// Restart a VM (`--force`: grace period 0).
    Restart(ActionArgs),
    /// Pause a running VM.
    Pause(ActionArgs),
    /// Unpause a paused VM.
    Unpause(ActionArgs),
    /// Live-migrate a VM to another node.
    Migrate(ActionArgs),
    /// Reboot the guest through its agent.
    Softreboot(ActionArgs),
    /// Create a VM from an instancetype and a boot source (`--review`: show the objects only).
    Create(crate::vms_manage_cmd::CreateArgs),
    /// Snapshots of a VM: take, list, delete, check.
    #[command(subcommand)]
    Snapshot(crate::vms_manage_cmd::SnapshotCommand),
    /// Restore a VM from a snapshot (a running VM is stopped first).
    Restore(crate::vms_manage_cmd::RestoreArgs),
    /// Clone a VM.
    Clone(crate::vms_manage_cmd::CloneArgs),
    /// Delete a VM with its disks, or keeping them (`--keep-disks`), confirmed by its name.
    Delete(crate::vms_manage_cmd::DeleteArgs),
    /// Change a VM's CPUs, memory, instancetype or run strategy.
    Edit(crate::vms_manage_cmd::EditArgs),
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The namespace (default: the context's).
    #[arg(short, long, conflicts_with = "all_namespaces")]
    namespace: Option<String>,
    /// Every namespace.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// `json` for scripts (with `--watch`: one JSON object per line).
    #[arg(short, long, value_enum, default_value_t = ListOutput::Text)]
    output: ListOutput,
    /// After the list, print changes as they happen (until interrupted).
    #[arg(short, long)]
    watch: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ListOutput {
    Text,
    Json,
}

#[derive(Args)]
pub struct ActionArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The VM: NAMESPACE/NAME, or NAME in the context's namespace.
    vm: String,
    /// stop/restart: no grace period.
    #[arg(long)]
    force: bool,
}

/// `NS/NAME`, or `NAME` in `default_namespace`.
pub fn parse_vm(vm: &str, default_namespace: &str) -> anyhow::Result<(String, String)> {
    let (namespace, name) = match vm.split_once('/') {
        Some((ns, name)) => (ns, name),
        None => (default_namespace, vm),
    };
    if namespace.is_empty() || name.is_empty() || name.contains('/') {
        bail!("{vm:?}: name the VM as NAMESPACE/NAME");
    }
    Ok((namespace.to_string(), name.to_string()))
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub fn run(command: VmsCommand) -> anyhow::Result<ExitCode> {
    use crate::vms_manage_cmd::{Verb, run as manage};
    let (args, action) = match command {
        VmsCommand::Create(a) => return manage(Verb::Create(a)),
        VmsCommand::Snapshot(c) => return manage(Verb::Snapshot(c)),
        VmsCommand::Restore(a) => return manage(Verb::Restore(a)),
        VmsCommand::Clone(a) => return manage(Verb::Clone(a)),
        VmsCommand::Delete(a) => return manage(Verb::Delete(a)),
        VmsCommand::Edit(a) => return manage(Verb::Edit(a)),
        VmsCommand::List(args) => return runtime()?.block_on(list(args)),
        VmsCommand::Start(a) => (a, PowerAction::Start),
        VmsCommand::Stop(a) if a.force => (a, PowerAction::ForceStop),
        VmsCommand::Stop(a) => (a, PowerAction::Stop),
        VmsCommand::Restart(a) if a.force => (a, PowerAction::ForceRestart),
        VmsCommand::Restart(a) => (a, PowerAction::Restart),
        VmsCommand::Pause(a) => (a, PowerAction::Pause),
        VmsCommand::Unpause(a) => (a, PowerAction::Unpause),
        VmsCommand::Migrate(a) => (a, PowerAction::Migrate),
        VmsCommand::Softreboot(a) => (a, PowerAction::SoftReboot),
    };
    if args.force && !matches!(action, PowerAction::ForceStop | PowerAction::ForceRestart) {
        bail!("--force applies to stop and restart only");
    }
    runtime()?.block_on(async {
        let client = args.target.client().await?;
        let (namespace, name) = parse_vm(&args.vm, client.default_namespace())?;
        act(&client, &namespace, &name, action)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        eprintln!("{namespace}/{name}: {} requested", action.subresource());
        Ok(ExitCode::SUCCESS)
    })
}

fn table_row(row: &VmRow) -> Vec<String> {
    let or_dash = |s: Option<&str>| s.filter(|s| !s.is_empty()).unwrap_or("-").to_string();
    vec![
        row.namespace.clone(),
        row.name.clone(),
        row.status.clone(),
        or_dash(row.node.as_deref()),
        or_dash(row.ips.first().map(String::as_str)),
        row.cpus.map_or("-".into(), |c| c.to_string()),
        or_dash(row.memory.as_deref()),
        or_dash(row.guest_os.as_deref()),
    ]
}

const HEADER: [&str; 8] = [
    "NAMESPACE",
    "NAME",
    "STATUS",
    "NODE",
    "IP",
    "CPUS",
    "MEMORY",
    "GUEST OS",
];

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let client = args.target.client().await?;
    let scope = match (&args.namespace, args.all_namespaces) {
        (_, true) => Scope::All,
        (Some(ns), false) => Scope::Namespace(ns.clone()),
        (None, false) => Scope::Namespace(client.default_namespace().to_string()),
    };
    // One plain list first: a cluster without KubeVirt, or a user who may not list VMs, is told
    // so instead of waiting for a watch that cannot start.
    let api: Api<DynamicObject> = match &scope {
        Scope::All => Api::all_with(client.clone(), &vm_resource()),
        Scope::Namespace(ns) => Api::namespaced_with(client.clone(), ns, &vm_resource()),
    };
    match api.list(&ListParams::default().limit(1)).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {
            bail!("VirtualMachines are not served here: is KubeVirt installed?")
        }
        Err(kube::Error::Api(status)) if status.code == 403 => {
            bail!("not allowed: {}", status.message)
        }
        Err(error) => return Err(error).context("listing VirtualMachines"),
    }
    let inventory = Inventory::start(client, scope);
    let mut updates = inventory.subscribe().await?;
    let Some(Update::Snapshot(rows)) = updates.next().await else {
        bail!("the VM inventory stopped before its first list");
    };
    match args.output {
        ListOutput::Json if args.watch => {
            emit(&format!(
                "{}\n",
                serde_json::json!({"kind": "snapshot", "rows": rows})
            ));
        }
        ListOutput::Json => emit(&format!("{}\n", serde_json::to_string_pretty(&rows)?)),
        ListOutput::Text if rows.is_empty() => eprintln!("no VMs"),
        ListOutput::Text => print_table(&HEADER, &rows.iter().map(table_row).collect::<Vec<_>>()),
    }
    if !args.watch {
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        tokio::select! {
            update = updates.next() => match update {
                Some(Update::Changes(changes)) => {
                    for change in changes {
                        print_change(args.output, &change)?;
                    }
                }
                Some(Update::Snapshot(_)) => {}
                None => bail!("the VM inventory stopped"),
            },
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        }
    }
}

fn print_change(output: ListOutput, change: &RowChange) -> anyhow::Result<()> {
    match output {
        ListOutput::Json => emit(&format!("{}\n", serde_json::to_string(change)?)),
        ListOutput::Text => {
            let (what, line) = match change {
                RowChange::Added(row) => ("ADDED", table_row(row).join("  ")),
                RowChange::Changed(row) => ("CHANGED", table_row(row).join("  ")),
                RowChange::Removed(key) => ("REMOVED", format!("{}  {}", key.namespace, key.name)),
            };
            emit(&format!("{what:<8} {line}\n"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vms_are_named_namespace_slash_name() {
        assert_eq!(
            parse_vm("dev/web-01", "default").unwrap(),
            ("dev".to_string(), "web-01".to_string())
        );
        assert_eq!(
            parse_vm("web-01", "default").unwrap(),
            ("default".to_string(), "web-01".to_string())
        );
        for bad in ["/x", "dev/", "a/b/c", ""] {
            assert!(parse_vm(bad, "default").is_err(), "{bad}");
        }
    }
}
