//! `vmdeckctl plan`: what an install of a profile would change on a cluster, as counts per pack,
//! the objects that change, the field conflicts, or every diff; nothing is changed.

use std::process::ExitCode;

use clap::Args;
use vmdeck_installer::{Action, Plan, PlanOptions, plan};

use crate::catalog_args::CatalogArgs;
use crate::install_cmd::runtime;
use crate::output_format::print_table;
use crate::profile_cmd::{RenderArgs, render_file};
use crate::target::TargetArgs;

#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    source: RenderArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// `text` (counts and changes), `json` (everything, diffs included) or `diff` (unified diffs).
    #[arg(short, long, value_enum, default_value_t = PlanOutput::Text)]
    output: PlanOutput,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PlanOutput {
    Text,
    Json,
    Diff,
}

fn action_word(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Unchanged => "unchanged",
        Action::Prune => "prune",
    }
}

/// Counts per pack, then the conflicts.
pub fn print_summary(plan: &Plan) {
    let rows: Vec<Vec<String>> = plan
        .packs
        .iter()
        .map(|p| {
            vec![
                p.pack.clone(),
                p.create.to_string(),
                p.update.to_string(),
                p.unchanged.to_string(),
                p.prune.to_string(),
            ]
        })
        .collect();
    print_table(&["PACK", "CREATE", "UPDATE", "UNCHANGED", "PRUNE"], &rows);
    for object in plan.conflicts() {
        for conflict in &object.conflicts {
            println!(
                "conflict: {} fields owned by {:?}: {}",
                object.object,
                conflict.manager,
                conflict.fields.join(", ")
            );
        }
    }
}

pub fn run_plan(catalog: &CatalogArgs, args: PlanArgs) -> anyhow::Result<ExitCode> {
    let catalog = catalog.load()?;
    let runtime = runtime()?;
    let Some((_, rendered)) = render_file(&catalog, &args.source, &runtime)? else {
        return Ok(ExitCode::FAILURE);
    };
    let planned = runtime.block_on(async {
        let client = args.target.client().await?;
        let options = PlanOptions {
            concurrency: args.concurrency,
            ..PlanOptions::default()
        };
        plan(client, &rendered, options)
            .await
            .map_err(|e| anyhow::anyhow!("{e} [{}]", e.code()))
    })?;
    match args.output {
        PlanOutput::Json => println!("{}", serde_json::to_string_pretty(&planned)?),
        PlanOutput::Diff => {
            for object in planned.objects.iter().filter(|o| !o.diff.is_empty()) {
                println!(
                    "# {} {} ({})",
                    action_word(object.action),
                    object.object,
                    object.pack
                );
                print!("{}", object.diff);
            }
        }
        PlanOutput::Text => {
            print_summary(&planned);
            for object in planned
                .objects
                .iter()
                .filter(|o| o.action != Action::Unchanged)
            {
                println!("{:<7} {}", action_word(object.action), object.object);
            }
            if !planned.changes() {
                println!("nothing to change");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
