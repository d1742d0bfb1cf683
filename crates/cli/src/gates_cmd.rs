//! `vmdeckctl gates ...`: the feature gate table of a pack version.

use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::Subcommand;

use crate::catalog_args::CatalogArgs;
use crate::output_format::{OutputFormat, emit, print_table};

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
}

pub fn run(args: &CatalogArgs, command: GatesCommand) -> anyhow::Result<ExitCode> {
    let catalog = args.load()?;
    let GatesCommand::List {
        pack,
        version,
        output,
    } = command;
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
