//! `vmdeckctl uninstall | status`, and what every changing command shares: asking first on a
//! terminal (without one, `--yes` is needed) and the runtime. `install` is `install_run`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use clap::Args;
use vmdeck_installer::{InventoryStore, UninstallOptions, health, live_gates, uninstall};

use crate::progress_view::ProgressView;
use crate::target::TargetArgs;

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

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
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
        let (sink, printer) = ProgressView::new(1).follow(&args.target.describe(), 0);
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
