//! `vmdeckctl install PROFILE TARGET...`: one profile onto one or more clusters. For every
//! cluster at once: preflight (a failure anywhere stops everything before anything is applied)
//! and the plan; one question; then the installs concurrently, one progress bar (or prefixed
//! lines) per cluster, and a summary table at the end. Each run is journalled, so an
//! interrupted one is named and resumed by installing again.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use clap::Args;
use futures::future::join_all;
use vmdeck_installer::preflight::without_packs;
use vmdeck_installer::{
    Action, InstallOptions, Journal, Plan, PlanOptions, PreflightOptions, RunState, Verdict,
    install_journaled, plan, preflight,
};
use vmdeck_packs::{Catalog, Rendered};
use vmdeck_vault::AppDirs;

use crate::catalog_args::CatalogArgs;
use crate::install_cmd::{confirmed, runtime};
use crate::output_format::print_table;
use crate::plan_cmd::print_summary;
use crate::preflight_cmd::print_report;
use crate::profile_cmd::{RenderArgs, render_file};
use crate::progress_view::ProgressView;
use crate::target::{TargetArgs, TargetsArgs};

#[derive(Args)]
pub struct InstallArgs {
    #[command(flatten)]
    source: RenderArgs,
    #[command(flatten)]
    targets: TargetsArgs,
    /// Go ahead without asking.
    #[arg(long)]
    yes: bool,
    /// Requests in flight at once (per cluster).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Take over fields another field manager owns.
    #[arg(long)]
    force_conflicts: bool,
}

/// One cluster, checked and planned, ready to install.
struct Prepared {
    name: String,
    client: kube::Client,
    identity: String,
    rendered: Rendered,
    plan: Plan,
}

/// Preflight and plan for one cluster; prints what the person must see (failures, warnings).
async fn prepare(
    target: &TargetArgs,
    catalog: &Catalog,
    rendered: &Rendered,
    concurrency: usize,
) -> anyhow::Result<Prepared> {
    let name = target.describe();
    let (client, identity) = target.connect().await?;
    let options = PlanOptions {
        concurrency,
        ..PlanOptions::default()
    };
    // Both only read: the plan is made while the preflight runs, and dropped if it fails.
    let preflight_options = PreflightOptions {
        endpoint: crate::preflight_cmd::endpoint(target).await?,
        ..PreflightOptions::default()
    };
    let (report, planned) = tokio::join!(
        preflight(client.clone(), rendered, catalog, preflight_options),
        plan(client.clone(), rendered, options)
    );
    let report = report.map_err(|e| anyhow!("{name}: {e} [{}]", e.code()))?;
    if report.verdict() != Verdict::Pass {
        println!("preflight of {name}:");
        print_report(&report);
    }
    if report.blocks() {
        let first = report.failures().next().map_or(String::new(), |c| {
            format!(": {} ({})", c.id, c.fix.as_deref().unwrap_or(&c.saw))
        });
        bail!("{name}: preflight failed{first}; nothing was applied [preflight_failed]");
    }
    let skipped = report.skipped_packs();
    for pack in &skipped {
        eprintln!("{name}: {pack} skipped, the cluster already has what it installs");
    }
    let rendered = without_packs(rendered, &skipped);
    let plan = planned
        .map_err(|e| anyhow!("{name}: {e} [{}]", e.code()))?
        .without_packs(&skipped);
    Ok(Prepared {
        name,
        client,
        identity,
        rendered,
        plan,
    })
}

fn counts(plan: &Plan) -> String {
    format!(
        "{} to create, {} to update, {} to prune",
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Prune)
    )
}

pub fn run_install(catalog: &CatalogArgs, args: InstallArgs) -> anyhow::Result<ExitCode> {
    let catalog = catalog.load()?;
    let runtime = runtime()?;
    let Some((profile, rendered)) = render_file(&catalog, &args.source, &runtime)? else {
        return Ok(ExitCode::FAILURE);
    };
    let dirs = AppDirs::from_env_or_system().map_err(|e| anyhow!("[{}] {e}", e.code()))?;
    let journal = Journal::new(dirs.data.join("runs"));
    let targets = args.targets.each();
    let prepared: Vec<anyhow::Result<Prepared>> = runtime.block_on(join_all(
        targets
            .iter()
            .map(|t| prepare(t, &catalog, &rendered, args.concurrency)),
    ));
    let mut ready = Vec::new();
    let mut failed = Vec::new();
    for result in prepared {
        match result {
            Ok(prepared) => ready.push(prepared),
            Err(error) => failed.push(error),
        }
    }
    if let Some(first) = failed.first() {
        for error in &failed[1..] {
            eprintln!("error: {error:#}");
        }
        bail!("{first:#}");
    }
    let profile_text = profile.to_yaml();
    for prepared in &ready {
        if let Some(earlier) = journal
            .find(&prepared.identity)
            .map_err(|e| anyhow!("{e} [{}]", e.code()))?
        {
            let how = match &earlier.state {
                RunState::Running => "was cut short".to_string(),
                RunState::Failed { message, .. } => format!("failed: {message}"),
            };
            let same = if earlier.profile == profile_text {
                "resuming it"
            } else {
                "this install, with another profile, takes its place"
            };
            eprintln!(
                "an earlier install on {} {how} ({} pack(s) were ready); {same}",
                prepared.name,
                earlier.packs_ready.len()
            );
        }
        if ready.len() > 1 {
            println!("== {}", prepared.name);
        }
        print_summary(&prepared.plan);
    }
    if ready.iter().any(|p| p.plan.conflicts().next().is_some()) && !args.force_conflicts {
        bail!(
            "other field managers own fields this install would change (listed above); \
             add --force-conflicts to take them over"
        );
    }
    let packs: Vec<String> = rendered
        .packs
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    let onto: Vec<String> = ready
        .iter()
        .map(|p| format!("{} ({})", p.name, counts(&p.plan)))
        .collect();
    let question = format!("install {} onto {}", packs.join(", "), onto.join("; "));
    if !confirmed(args.yes, &question)? {
        eprintln!("nothing installed");
        return Ok(ExitCode::FAILURE);
    }
    let view = ProgressView::new(ready.len());
    // The progress printers are spawned while the installs are built.
    let _inside = runtime.enter();
    let options = InstallOptions {
        concurrency: args.concurrency,
        force_conflicts: args.force_conflicts,
        ..InstallOptions::default()
    };
    let outcomes: Vec<(
        String,
        Duration,
        anyhow::Result<vmdeck_installer::InstallReport>,
    )> = runtime.block_on(join_all(ready.into_iter().map(|prepared| {
        let (sink, printer) = view.follow(&prepared.name, prepared.rendered.objects.len());
        let (journal, profile_text) = (&journal, profile_text.clone());
        async move {
            let started = Instant::now();
            let result = install_journaled(
                journal,
                &prepared.identity,
                prepared.client,
                &prepared.rendered,
                profile_text,
                options,
                &sink,
            )
            .await
            .map_err(|e| anyhow!("{e} [{}]", e.code()));
            drop(sink);
            let _ = printer.await;
            (prepared.name, started.elapsed(), result)
        }
    })));
    let several = outcomes.len() > 1;
    let mut all_good = true;
    let mut rows = Vec::new();
    for (name, took, result) in &outcomes {
        match result {
            Ok(report) => {
                rows.push(vec![
                    name.clone(),
                    "installed".into(),
                    report.applied.to_string(),
                    report.pruned.to_string(),
                    format!("{:.1} s", took.as_secs_f64()),
                ]);
                if !several {
                    println!(
                        "installed {} ({} objects applied, {} pruned, {:.2} s from the go-ahead to \
                         Ready; inventory {})",
                        report.packs.join(", "),
                        report.applied,
                        report.pruned,
                        took.as_secs_f64(),
                        report.inventory_id
                    );
                }
            }
            Err(error) => {
                all_good = false;
                eprintln!("error: {name}: {error:#}");
                rows.push(vec![
                    name.clone(),
                    "failed".into(),
                    "-".into(),
                    "-".into(),
                    format!("{:.1} s", took.as_secs_f64()),
                ]);
            }
        }
    }
    if several {
        print_table(&["CLUSTER", "RESULT", "APPLIED", "PRUNED", "TIME"], &rows);
    }
    if !all_good && !several {
        let (_, _, result) = outcomes.into_iter().next().expect("one outcome");
        return Err(result.expect_err("it failed"));
    }
    Ok(if all_good {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
