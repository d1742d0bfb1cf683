//! `vmdeckctl gates ...`: the feature gate table of a pack version, and changing the gates of an
//! installed KubeVirt or CDI on a live cluster (planned, shown as a diff, applied, read back).

use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;

use vmdeck_installer::{
    Action, InstallOptions, InventoryStore, Journal, PlanOptions, ProgressSink, install_journaled,
    live_gates, plan,
};
use vmdeck_packs::{Catalog, GateChoice, Profile, set_gate, validate};
use vmdeck_vault::AppDirs;

use crate::catalog_args::CatalogArgs;
use crate::install_cmd::{confirmed, runtime};
use crate::output_format::{OutputFormat, emit, print_table};
use crate::profile_cmd::{SourceArgs, render_profile};
use crate::target::TargetArgs;

#[derive(Subcommand)]
pub enum GatesCommand {
    /// Gates of one version: maturity, default and what each does.
    List {
        /// kubevirt or kubevirt-cdi.
        #[arg(long)]
        pack: String,
        #[arg(long)]
        version: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Change the gates of what VMDeck installed on a cluster: only the gate list changes.
    Set {
        #[command(flatten)]
        target: TargetArgs,
        /// NAME=on|off|default, or PACK/NAME=... when two packs have the gate (repeatable).
        #[arg(long = "gate", value_name = "NAME=on|off|default", value_parser = parse_gate_change, required = true)]
        gates: Vec<(String, Option<GateChoice>)>,
        #[command(flatten)]
        sources: SourceArgs,
        /// Go ahead without asking.
        #[arg(long)]
        yes: bool,
    },
}

fn parse_gate_change(text: &str) -> Result<(String, Option<GateChoice>), String> {
    match text.split_once('=') {
        Some((name, "default")) if !name.is_empty() => Ok((name.to_string(), None)),
        Some((name, choice)) if !name.is_empty() => Ok((name.to_string(), Some(choice.parse()?))),
        _ => Err(format!("expected NAME=on|off|default, got `{text}`")),
    }
}

pub fn run(args: &CatalogArgs, command: GatesCommand) -> anyhow::Result<ExitCode> {
    let catalog = args.load()?;
    let (pack, version, output) = match command {
        GatesCommand::List {
            pack,
            version,
            output,
        } => (pack, version, output),
        GatesCommand::Set {
            target,
            gates,
            sources,
            yes,
        } => return set_live(&catalog, &target, &gates, &sources, yes),
    };
    let gates = catalog.gates(&pack).ok_or_else(|| {
        let with_gates: Vec<&str> = catalog
            .packs()
            .filter(|p| p.gates.is_some())
            .map(|p| p.manifest.name.as_str())
            .collect();
        anyhow!(
            "pack `{pack}` has no feature gates (packs with gates: {})",
            with_gates.join(", ")
        )
    })?;
    let table = gates
        .table(&version)
        .with_context(|| format!("--version {version}"))?;
    match output {
        OutputFormat::Json => emit(&(serde_json::to_string_pretty(&table)? + "\n")),
        OutputFormat::Yaml => emit(&serde_yaml_ng::to_string(&table)?),
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = table
                .iter()
                .map(|row| {
                    let default = if row.on_by_default { "on" } else { "off" };
                    let profile = if !row.choosable {
                        "-"
                    } else if row.profile_default {
                        "on"
                    } else {
                        ""
                    };
                    vec![
                        row.name.clone(),
                        row.maturity.as_str().to_string(),
                        default.to_string(),
                        profile.to_string(),
                        row.description.clone(),
                    ]
                })
                .collect();
            emit(&format!("{} {version}\n", gates.component));
            print_table(
                &["NAME", "MATURITY", "DEFAULT", "PROFILE", "WHAT IT DOES"],
                &rows,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn coded(error: impl std::fmt::Display, code: &str) -> anyhow::Error {
    anyhow!("{error} [{code}]")
}

/// Changes the installed profile's gates, plans it (only the gate lists may change), asks,
/// applies, waits until ready again and prints the gates now in effect.
fn set_live(
    catalog: &Catalog,
    target: &TargetArgs,
    gates: &[(String, Option<GateChoice>)],
    sources: &SourceArgs,
    yes: bool,
) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let (client, cluster, inventory) = runtime.block_on(async {
        let (client, cluster) = target.connect().await?;
        let inventory = InventoryStore::new(client.clone(), Default::default())
            .load()
            .await
            .map_err(|e| coded(&e, e.code()))?
            .ok_or_else(|| {
                anyhow!(
                    "nothing of VMDeck is installed on {}: install a profile first [not_installed]",
                    target.describe()
                )
            })?;
        let live = live_gates(client.clone(), &inventory, Default::default())
            .await
            .map_err(|e| coded(&e, e.code()))?;
        if let Some(owned) = live.iter().find(|g| g.owned_by.is_some()) {
            bail!(
                "the gate list of {} is owned by field manager {:?}, not VMDeck: change the gates \
                 there (VMDeck does not fight over it) [gates_owned_elsewhere]",
                owned.object,
                owned.owned_by.as_deref().unwrap_or_default()
            );
        }
        anyhow::Ok((client, cluster, inventory))
    })?;
    let mut profile = Profile::from_yaml(&inventory.profile)
        .map_err(|e| anyhow!("the installed profile in the inventory: {e}"))?;
    for (key, choice) in gates {
        set_gate(catalog, &mut profile.packs, key, *choice)
            .map_err(|e| anyhow!("--gate {key}: {e}"))?;
    }
    validate(catalog, &profile, None).map_err(|e| anyhow!("the changed profile: {e}"))?;
    let dirs = AppDirs::from_env_or_system().map_err(|e| coded(&e, e.code()))?;
    let rendered = render_profile(
        catalog,
        &profile,
        sources,
        dirs.data.join("installed-sources.lock"),
        &runtime,
    )?;
    let planned = runtime
        .block_on(plan(client.clone(), &rendered, PlanOptions::default()))
        .map_err(|e| coded(&e, e.code()))?;
    let changed: Vec<_> = planned
        .objects
        .iter()
        .filter(|o| o.action != Action::Unchanged)
        .collect();
    if changed.is_empty() {
        println!("the gates are already so; nothing to change");
        return Ok(ExitCode::SUCCESS);
    }
    for object in &changed {
        println!("# {:?} {} ({})", object.action, object.object, object.pack);
        print!("{}", object.diff);
    }
    if !confirmed(yes, &format!("apply this to {}", target.describe()))? {
        eprintln!("nothing changed");
        return Ok(ExitCode::FAILURE);
    }
    runtime.block_on(async {
        let journal = Journal::new(dirs.data.join("runs"));
        install_journaled(
            &journal,
            &cluster,
            client.clone(),
            &rendered,
            profile.to_yaml(),
            InstallOptions::default(),
            &ProgressSink::discard(),
        )
        .await
        .map_err(|e| coded(&e, e.code()))?;
        let inventory = InventoryStore::new(client.clone(), Default::default())
            .load()
            .await
            .map_err(|e| coded(&e, e.code()))?
            .ok_or_else(|| anyhow!("the inventory went away [not_installed]"))?;
        for gates in live_gates(client, &inventory, Default::default())
            .await
            .map_err(|e| coded(&e, e.code()))?
        {
            println!("{}: gates now {}", gates.pack, gates.enabled.join(", "));
        }
        Ok(ExitCode::SUCCESS)
    })
}
