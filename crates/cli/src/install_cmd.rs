//! `vmdeckctl install | uninstall | status`: a profile onto a cluster and back, with progress as
//! plain lines on stderr. A changing command asks first on a terminal and, without one, needs
//! `--yes`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use clap::Args;
use tokio::sync::mpsc;
use vmdeck_installer::preflight::without_packs;
use vmdeck_installer::{
    Action, InstallOptions, InventoryStore, Journal, PlanOptions, PreflightOptions, Progress,
    ProgressSink, RunState, UninstallOptions, Verdict, health, install_journaled, live_gates, plan,
    preflight, uninstall,
};
use vmdeck_vault::AppDirs;

use crate::catalog_args::CatalogArgs;
use crate::plan_cmd::print_summary;
use crate::preflight_cmd::print_report;
use crate::profile_cmd::{RenderArgs, render_file};
use crate::target::TargetArgs;

#[derive(Args)]
pub struct InstallArgs {
    #[command(flatten)]
    source: RenderArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// Go ahead without asking.
    #[arg(long)]
    yes: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Take over fields another field manager owns.
    #[arg(long)]
    force_conflicts: bool,
}

#[derive(Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long)]
    yes: bool,
    /// Delete VirtualMachines and DataVolumes first (else uninstall refuses while any exist).
    #[arg(long)]
    remove_vms: bool,
    /// Remove the finalizers of objects that are still there after their delete.
    #[arg(long)]
    force_finalizers: bool,
}

#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// `json` for scripts.
    #[arg(short, long, value_enum, default_value_t = StatusOutput::Text)]
    output: StatusOutput,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum StatusOutput {
    Text,
    Json,
}

/// Asks on a terminal; without one, refuses unless `--yes`.
pub fn confirmed(yes: bool, question: &str) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("{question}: not a terminal, so not asking; add --yes to go ahead");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Prints progress as lines until the sender goes away.
fn print_progress() -> (ProgressSink, tokio::task::JoinHandle<()>) {
    let (sender, mut receiver) = mpsc::channel(64);
    let printer = tokio::spawn(async move {
        while let Some(event) = receiver.recv().await {
            match event {
                Progress::InventoryWritten { objects } => {
                    eprintln!("inventory written ({objects} objects to apply)")
                }
                Progress::PhaseStarted {
                    pack,
                    phase,
                    objects,
                } => eprintln!("{pack}: {phase} ({objects})"),
                Progress::Retrying {
                    object,
                    attempt,
                    reason,
                } => eprintln!("  retrying {object} (attempt {attempt}): {reason}"),
                Progress::Waiting { pack, what, status } => {
                    eprintln!("  {pack}: waiting for {what}: {status}")
                }
                Progress::PackReady { pack } => eprintln!("{pack}: ready"),
                Progress::Deleted { object } => eprintln!("  deleted {object}"),
                Progress::Applied { .. } | Progress::Deleting { .. } | Progress::Done { .. } => {}
            }
        }
    });
    (ProgressSink::new(sender), printer)
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub fn run_install(catalog: &CatalogArgs, args: InstallArgs) -> anyhow::Result<ExitCode> {
    let catalog = catalog.load()?;
    let runtime = runtime()?;
    let Some((profile, rendered)) = render_file(&catalog, &args.source, &runtime)? else {
        return Ok(ExitCode::FAILURE);
    };
    let dirs = AppDirs::from_env_or_system().map_err(|e| anyhow!("[{}] {e}", e.code()))?;
    let journal = Journal::new(dirs.data.join("runs"));
    let (client, cluster, rendered, planned) = runtime.block_on(async {
        let (client, cluster) = args.target.connect().await?;
        // Preflight first: a failing check stops the install before anything is applied.
        let report = preflight(
            client.clone(),
            &rendered,
            &catalog,
            PreflightOptions::default(),
        )
        .await
        .map_err(|e| anyhow!("{e} [{}]", e.code()))?;
        if report.verdict() != Verdict::Pass {
            print_report(&report);
        }
        if report.blocks() {
            let first = report.failures().next().map_or(String::new(), |c| {
                format!(": {} ({})", c.id, c.fix.as_deref().unwrap_or(&c.saw))
            });
            bail!("preflight failed{first}; nothing was applied [preflight_failed]");
        }
        let skipped = report.skipped_packs();
        for pack in &skipped {
            eprintln!("{pack}: skipped, the cluster already has what it installs (see preflight)");
        }
        let rendered = without_packs(&rendered, &skipped);
        let options = PlanOptions {
            concurrency: args.concurrency,
            ..PlanOptions::default()
        };
        let planned = plan(client.clone(), &rendered, options)
            .await
            .map_err(|e| anyhow!("{e} [{}]", e.code()))?;
        anyhow::Ok((client, cluster, rendered, planned))
    })?;
    if let Some(earlier) = journal
        .find(&cluster)
        .map_err(|e| anyhow!("{e} [{}]", e.code()))?
    {
        let how = match &earlier.state {
            RunState::Running => "was cut short".to_string(),
            RunState::Failed { message, .. } => format!("failed: {message}"),
        };
        let same = if earlier.profile == profile.to_yaml() {
            "resuming it"
        } else {
            "this install, with another profile, takes its place"
        };
        eprintln!(
            "an earlier install on {} {how} ({} pack(s) were ready); {same}",
            args.target.describe(),
            earlier.packs_ready.len()
        );
    }
    print_summary(&planned);
    if planned.conflicts().next().is_some() && !args.force_conflicts {
        bail!(
            "other field managers own fields this install would change (listed above); \
             add --force-conflicts to take them over"
        );
    }
    let question = format!(
        "install {} ({} to create, {} to update, {} to prune) onto {}",
        rendered
            .packs
            .iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect::<Vec<_>>()
            .join(", "),
        planned.count(Action::Create),
        planned.count(Action::Update),
        planned.count(Action::Prune),
        args.target.describe()
    );
    if !confirmed(args.yes, &question)? {
        eprintln!("nothing installed");
        return Ok(ExitCode::FAILURE);
    }
    runtime.block_on(async {
        let (sink, printer) = print_progress();
        let options = InstallOptions {
            concurrency: args.concurrency,
            force_conflicts: args.force_conflicts,
            ..InstallOptions::default()
        };
        let result = install_journaled(
            &journal,
            &cluster,
            client,
            &rendered,
            profile.to_yaml(),
            options,
            &sink,
        )
        .await;
        drop(sink);
        printer.await?;
        let report = result.map_err(|e| anyhow!("{e} [{}]", e.code()))?;
        println!(
            "installed {} ({} objects applied, {} pruned; inventory {})",
            report.packs.join(", "),
            report.applied,
            report.pruned,
            report.inventory_id
        );
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run_uninstall(args: UninstallArgs) -> anyhow::Result<ExitCode> {
    let question = format!(
        "uninstall everything VMDeck installed on {}",
        args.target.describe()
    );
    if !confirmed(args.yes, &question)? {
        eprintln!("nothing removed");
        return Ok(ExitCode::FAILURE);
    }
    runtime()?.block_on(async {
        let client = args.target.client().await?;
        let (sink, printer) = print_progress();
        let options = UninstallOptions {
            remove_vms: args.remove_vms,
            force_finalizers: args.force_finalizers,
            ..UninstallOptions::default()
        };
        let result = uninstall(client, options, &sink).await;
        drop(sink);
        printer.await?;
        let report = result.map_err(|e| anyhow::anyhow!("{e} [{}]", e.code()))?;
        if !report.leftovers.is_empty() {
            for leftover in &report.leftovers {
                println!(
                    "left over: {} (finalizers {}); remove with: {}",
                    leftover.object,
                    leftover.finalizers.join(", "),
                    leftover.remove_with
                );
            }
            bail!(
                "{} object(s) are still there, so the inventory stays; remove them as shown, or \
                 uninstall again with --force-finalizers [leftovers]",
                report.leftovers.len()
            );
        }
        println!(
            "uninstalled {} ({} objects deleted)",
            report.packs.join(", "),
            report.deleted
        );
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run_status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let client = args.target.client().await?;
        let coded = |e: vmdeck_installer::InstallError| anyhow!("{e} [{}]", e.code());
        let inventory = InventoryStore::new(client.clone(), Default::default())
            .load()
            .await
            .map_err(coded)?;
        let Some(inventory) = inventory else {
            match args.output {
                StatusOutput::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({"installed": false}))?
                ),
                StatusOutput::Text => println!("nothing of VMDeck is installed here"),
            }
            return Ok(ExitCode::SUCCESS);
        };
        let (health, gates) = tokio::try_join!(
            health(client.clone(), &inventory, Default::default()),
            live_gates(client, &inventory, Default::default())
        )
        .map_err(coded)?;
        let gates_of = |pack: &str| {
            gates
                .iter()
                .filter(|g| g.pack == pack)
                .flat_map(|g| g.enabled.iter().cloned())
                .collect::<Vec<_>>()
        };
        match args.output {
            StatusOutput::Json => {
                let packs: Vec<serde_json::Value> = health
                    .iter()
                    .map(|h| {
                        serde_json::json!({
                            "name": h.pack, "version": h.version, "healthy": h.healthy,
                            "reasons": h.reasons,
                            "objects": inventory.objects.iter().filter(|o| o.pack == h.pack).count(),
                            "gates": gates.iter().find(|g| g.pack == h.pack),
                        })
                    })
                    .collect();
                let value = serde_json::json!({
                    "installed": true,
                    "inventory": inventory.id,
                    "packs": packs,
                    "objects": inventory.objects.len(),
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            }
            StatusOutput::Text => {
                let rows: Vec<Vec<String>> = health
                    .iter()
                    .map(|h| {
                        let objects = inventory.objects.iter().filter(|o| o.pack == h.pack).count();
                        let state = if h.healthy { "healthy" } else { "not ready" };
                        vec![
                            h.pack.clone(),
                            h.version.clone(),
                            objects.to_string(),
                            state.to_string(),
                            gates_of(&h.pack).join(","),
                        ]
                    })
                    .collect();
                crate::output_format::print_table(
                    &["PACK", "VERSION", "OBJECTS", "HEALTH", "GATES"],
                    &rows,
                );
                for reason in health.iter().flat_map(|h| &h.reasons) {
                    println!("  {reason}");
                }
                println!("inventory {}", inventory.id);
            }
        }
        let healthy = health.iter().all(|h| h.healthy);
        Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}
