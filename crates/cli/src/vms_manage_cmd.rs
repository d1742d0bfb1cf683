//! `vmdeckctl vms create | snapshot | restore | clone | delete | edit`: the dashboard engine of
//! `vmdeck-console` on the command line; `-o json` for scripts. Bad drafts are printed field by
//! field with the fix; delete asks for the VM's name to be typed (or `--confirm NAME`).

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use futures::StreamExt;
use vmdeck_console::dashboard::create::{CreateError, create, review};
use vmdeck_console::dashboard::disk_progress::{DiskEvent, watch_disks};
use vmdeck_console::dashboard::edit_vm::{VmEdit, edit_vm};
use vmdeck_console::dashboard::{
    BootSource, CloudInit, Networks, TypeRef, VmDraft, clone, delete_vm, snapshots,
};

use crate::output_format::{emit, print_table};
use crate::target::TargetArgs;
use crate::vms_cmd::parse_vm;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The new VM: NAMESPACE/NAME, or NAME in the context's namespace.
    vm: String,
    /// Instancetype (cluster-wide unless --namespaced-instancetype), e.g. vmdeck-small.
    #[arg(long)]
    instancetype: Option<String>,
    #[arg(long)]
    namespaced_instancetype: bool,
    /// Preference (cluster-wide unless --namespaced-preference), e.g. vmdeck-linux.
    #[arg(long)]
    preference: Option<String>,
    #[arg(long)]
    namespaced_preference: bool,
    /// Boot from a golden image: NAMESPACE/NAME of a DataSource (e.g. vm-dashboard/fedora).
    #[arg(long, group = "boot")]
    image: Option<String>,
    /// Boot from a container disk image imported from a registry.
    #[arg(long, group = "boot")]
    container_disk: Option<String>,
    /// Boot from a disk image imported over HTTP(S).
    #[arg(long, group = "boot")]
    url: Option<String>,
    /// Boot from a clone of a PVC: NAMESPACE/NAME.
    #[arg(long, group = "boot")]
    pvc: Option<String>,
    /// Root disk size (a Kubernetes quantity).
    #[arg(long, default_value = "30Gi")]
    size: String,
    #[arg(long)]
    storage_class: Option<String>,
    /// Attach a Multus network (NAME or NAMESPACE/NAME); repeatable.
    #[arg(long)]
    network: Vec<String>,
    /// No pod network.
    #[arg(long)]
    no_pod_network: bool,
    /// Cloud-init user.
    #[arg(long)]
    user: Option<String>,
    /// The user's SSH public key, from this file.
    #[arg(long)]
    ssh_key_file: Option<std::path::PathBuf>,
    /// Read the user's password from stdin (one line); it is kept in a Secret.
    #[arg(long)]
    password_stdin: bool,
    /// Start the VM once created.
    #[arg(long)]
    start: bool,
    /// Print the objects as YAML and create nothing.
    #[arg(long)]
    review: bool,
    /// Follow the disk import until the VM can boot.
    #[arg(long)]
    wait: bool,
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot of a VM.
    Take(SnapshotTakeArgs),
    /// The snapshots of a VM (or of a namespace) with phase and size.
    List(SnapshotListArgs),
    /// Delete a snapshot.
    Delete(SnapshotDeleteArgs),
    /// Whether the VM can be snapshotted, and if not what is missing.
    Check(SnapshotListArgs),
}

#[derive(Args)]
pub struct SnapshotTakeArgs {
    #[command(flatten)]
    target: TargetArgs,
    vm: String,
    /// The snapshot's name.
    name: String,
    /// Wait until it is ready.
    #[arg(long)]
    wait: bool,
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Args)]
pub struct SnapshotListArgs {
    #[command(flatten)]
    target: TargetArgs,
    vm: String,
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Args)]
pub struct SnapshotDeleteArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// NAMESPACE/SNAPSHOT.
    snapshot: String,
}

#[derive(Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    target: TargetArgs,
    vm: String,
    snapshot: String,
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Args)]
pub struct CloneArgs {
    #[command(flatten)]
    target: TargetArgs,
    vm: String,
    /// The new VM's name (same namespace).
    new_name: String,
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    target: TargetArgs,
    vm: String,
    /// Keep the VM's disks (PVCs).
    #[arg(long)]
    keep_disks: bool,
    /// The VM's name, typed, instead of being asked.
    #[arg(long, alias = "yes-i-typed")]
    confirm: Option<String>,
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Args)]
pub struct EditArgs {
    #[command(flatten)]
    target: TargetArgs,
    vm: String,
    #[arg(long)]
    cpus: Option<u32>,
    #[arg(long)]
    memory: Option<String>,
    /// Another cluster-wide instancetype.
    #[arg(long)]
    instancetype: Option<String>,
    #[arg(long)]
    run_strategy: Option<String>,
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

fn json_out(value: &impl serde::Serialize) -> anyhow::Result<()> {
    emit(&format!("{}\n", serde_json::to_string_pretty(value)?));
    Ok(())
}

fn split_ref(text: &str, what: &str) -> anyhow::Result<(String, String)> {
    text.split_once('/')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| anyhow!("--{what} {text:?}: write NAMESPACE/NAME"))
}

fn draft_of(args: &CreateArgs, namespace: String, name: String) -> anyhow::Result<VmDraft> {
    let boot_source = if let Some(image) = &args.image {
        let (namespace, name) = split_ref(image, "image")?;
        Some(BootSource::DataSource { namespace, name })
    } else if let Some(pvc) = &args.pvc {
        let (namespace, name) = split_ref(pvc, "pvc")?;
        Some(BootSource::Pvc { namespace, name })
    } else if let Some(image) = &args.container_disk {
        Some(BootSource::ContainerDisk {
            image: image.clone(),
        })
    } else {
        args.url
            .as_ref()
            .map(|url| BootSource::Url { url: url.clone() })
    };
    let ssh_key = match &args.ssh_key_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Some(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        None
    };
    let cloud_init =
        (args.user.is_some() || ssh_key.is_some() || password.is_some()).then(|| CloudInit {
            user: args.user.clone().unwrap_or_default(),
            ssh_key,
            password,
        });
    Ok(VmDraft {
        namespace,
        name,
        instancetype: args.instancetype.as_ref().map(|n| TypeRef {
            name: n.clone(),
            cluster_wide: !args.namespaced_instancetype,
        }),
        preference: args.preference.as_ref().map(|n| TypeRef {
            name: n.clone(),
            cluster_wide: !args.namespaced_preference,
        }),
        boot_source,
        disk_size: args.size.clone(),
        storage_class: args.storage_class.clone(),
        networks: Networks {
            pod: !args.no_pod_network,
            multus: args.network.clone(),
        },
        cloud_init,
        start: args.start,
    })
}

/// A refused draft: each field with its fix (JSON: `{"errors": [...]}`).
fn refused(error: CreateError, output: Output) -> anyhow::Result<ExitCode> {
    let CreateError::Invalid(errors) = error else {
        bail!("{error}");
    };
    match output {
        Output::Json => json_out(&serde_json::json!({"errors": errors.0}))?,
        Output::Text => {
            for e in &errors.0 {
                eprintln!("{}: {}\n  fix: {}", e.field, e.message, e.fix);
            }
        }
    }
    Ok(ExitCode::from(2))
}

async fn run_create(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let client = args.target.client().await?;
    let (namespace, name) = parse_vm(&args.vm, client.default_namespace())?;
    let draft = draft_of(&args, namespace.clone(), name.clone())?;
    if args.review {
        return match review(&client, &draft).await {
            Ok(r) if args.output == Output::Json => {
                json_out(&serde_json::json!({"yaml": r.yaml})).map(|_| ExitCode::SUCCESS)
            }
            Ok(r) => {
                emit(&r.yaml);
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => refused(error, args.output),
        };
    }
    let created = match create(&client, &draft).await {
        Ok(created) => created,
        Err(error) => return refused(error, args.output),
    };
    if args.output == Output::Text {
        eprintln!("{namespace}/{name}: created");
    }
    let mut events = Vec::new();
    if args.wait {
        let mut stream = watch_disks(&client, &namespace, &name).await?;
        while let Some(event) = stream.next().await {
            if args.output == Output::Text {
                match &event {
                    DiskEvent::Progress {
                        disk,
                        phase,
                        percent,
                    } => {
                        eprintln!(
                            "{disk}: {phase}{}",
                            percent.map_or(String::new(), |p| format!(" {p:.1}%"))
                        )
                    }
                    DiskEvent::Failed { disk, reason } => eprintln!("{disk}: {reason}"),
                    DiskEvent::Ready => eprintln!("disks ready: the VM can boot"),
                }
            }
            let failed = matches!(event, DiskEvent::Failed { .. });
            events.push(event);
            if failed {
                if args.output == Output::Json {
                    json_out(&serde_json::json!({"created": created, "disk_events": events}))?;
                }
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    if args.output == Output::Json {
        json_out(&serde_json::json!({"created": created, "disk_events": events}))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_snapshot(command: SnapshotCommand) -> anyhow::Result<ExitCode> {
    match command {
        SnapshotCommand::Take(args) => {
            let client = args.target.client().await?;
            let (ns, vm) = parse_vm(&args.vm, client.default_namespace())?;
            snapshots::take(&client, &ns, &vm, &args.name)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            if args.wait {
                snapshots::wait_ready(&client, &ns, &args.name)
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
            }
            match args.output {
                Output::Json => json_out(
                    &serde_json::json!({"snapshot": args.name, "vm": vm, "ready": args.wait}),
                )?,
                Output::Text => eprintln!(
                    "{ns}/{}: snapshot of {vm} {}",
                    args.name,
                    if args.wait { "ready" } else { "requested" }
                ),
            }
        }
        SnapshotCommand::List(args) => {
            let client = args.target.client().await?;
            let (ns, vm) = parse_vm(&args.vm, client.default_namespace())?;
            let rows = snapshots::list(&client, &ns, Some(&vm))
                .await
                .map_err(|e| anyhow!("{e}"))?;
            match args.output {
                Output::Json => json_out(&rows)?,
                Output::Text => print_table(
                    &["NAME", "VM", "PHASE", "READY", "SIZE", "CREATED"],
                    &rows
                        .iter()
                        .map(|r| {
                            vec![
                                r.name.clone(),
                                r.vm.clone(),
                                r.phase.clone(),
                                r.ready.to_string(),
                                r.size.clone().unwrap_or("-".into()),
                                r.created.clone().unwrap_or("-".into()),
                            ]
                        })
                        .collect::<Vec<_>>(),
                ),
            }
        }
        SnapshotCommand::Delete(args) => {
            let client = args.target.client().await?;
            let (ns, name) = parse_vm(&args.snapshot, client.default_namespace())?;
            snapshots::delete(&client, &ns, &name)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            eprintln!("{ns}/{name}: snapshot deleted");
        }
        SnapshotCommand::Check(args) => {
            let client = args.target.client().await?;
            let (ns, vm) = parse_vm(&args.vm, client.default_namespace())?;
            let can = snapshots::capability(&client, &ns, &vm)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            match args.output {
                Output::Json => json_out(&can)?,
                Output::Text => match &can.reason {
                    None => eprintln!("{ns}/{vm}: snapshots can be taken"),
                    Some(reason) => eprintln!("{ns}/{vm}: snapshots are not offered: {reason}"),
                },
            }
            if !can.available {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let client = args.target.client().await?;
    let (ns, vm) = parse_vm(&args.vm, client.default_namespace())?;
    let text = args.output == Output::Text;
    let mut steps = Vec::new();
    let stopped = snapshots::restore(&client, &ns, &vm, &args.snapshot, |step| {
        if text {
            match step {
                snapshots::RestoreStep::Stopping { vm } => {
                    eprintln!("{vm} is running: stopping it first")
                }
                snapshots::RestoreStep::Stopped { vm } => eprintln!("{vm} stopped"),
                snapshots::RestoreStep::Restoring { restore } => eprintln!("restoring ({restore})"),
                snapshots::RestoreStep::Restored { .. } => {
                    eprintln!("restored from {}", args.snapshot)
                }
            }
        }
        steps.push(step.clone());
    })
    .await
    .map_err(|e| anyhow!("{e}"))?;
    if !text {
        json_out(
            &serde_json::json!({"vm": vm, "snapshot": args.snapshot, "stopped_first": stopped, "steps": steps}),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_clone(args: CloneArgs) -> anyhow::Result<ExitCode> {
    let client = args.target.client().await?;
    let (ns, vm) = parse_vm(&args.vm, client.default_namespace())?;
    let method = clone::clone_vm(&client, &ns, &vm, &args.new_name)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    match args.output {
        Output::Json => {
            json_out(&serde_json::json!({"source": vm, "clone": args.new_name, "method": method}))?
        }
        Output::Text => eprintln!("{ns}/{}: cloned from {vm}", args.new_name),
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_delete(args: DeleteArgs) -> anyhow::Result<ExitCode> {
    let client = args.target.client().await?;
    let (ns, vm) = parse_vm(&args.vm, client.default_namespace())?;
    let typed = match args.confirm.clone() {
        Some(typed) => typed,
        None => {
            if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                bail!("type the VM's name to delete it: add --confirm {vm}");
            }
            let disks = if args.keep_disks {
                "keeping its disks"
            } else {
                "and its disks"
            };
            eprint!("Delete {ns}/{vm} {disks}? Type its name: ");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim().to_string()
        }
    };
    let deleted = delete_vm::delete_vm(&client, &ns, &vm, &typed, args.keep_disks)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    match args.output {
        Output::Json => json_out(&deleted)?,
        Output::Text => eprintln!(
            "{ns}/{vm}: deleted; disks deleted: [{}], kept: [{}]",
            deleted.disks_deleted.join(", "),
            deleted.disks_kept.join(", ")
        ),
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_edit(args: EditArgs) -> anyhow::Result<ExitCode> {
    let client = args.target.client().await?;
    let (ns, vm) = parse_vm(&args.vm, client.default_namespace())?;
    let edit = VmEdit {
        cpus: args.cpus,
        memory: args.memory.clone(),
        instancetype: args.instancetype.as_deref().map(TypeRef::cluster),
        run_strategy: args.run_strategy.clone(),
    };
    let edited = edit_vm(&client, &ns, &vm, &edit)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    match args.output {
        Output::Json => json_out(&edited)?,
        Output::Text if edited.restart_needed => {
            eprintln!("{ns}/{vm}: changed; restart needed for it to take effect")
        }
        Output::Text => eprintln!("{ns}/{vm}: changed"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Run one of the dashboard verbs.
pub enum Verb {
    Create(CreateArgs),
    Snapshot(SnapshotCommand),
    Restore(RestoreArgs),
    Clone(CloneArgs),
    Delete(DeleteArgs),
    Edit(EditArgs),
}

pub fn run(verb: Verb) -> anyhow::Result<ExitCode> {
    crate::vms_cmd::runtime()?.block_on(async move {
        match verb {
            Verb::Create(a) => run_create(a).await,
            Verb::Snapshot(c) => run_snapshot(c).await,
            Verb::Restore(a) => run_restore(a).await,
            Verb::Clone(a) => run_clone(a).await,
            Verb::Delete(a) => run_delete(a).await,
            Verb::Edit(a) => run_edit(a).await,
        }
    })
}
