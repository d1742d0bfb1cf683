//! `vmdeckctl packs ...`: list the catalog.

use std::process::ExitCode;

use clap::Subcommand;

use crate::catalog_args::CatalogArgs;
use crate::output_format::{OutputFormat, emit, print_table};

#[derive(Subcommand)]
pub enum PacksCommand {
    /// List the packs (and presets) with their versions.
    List {
        #[arg(short, long, value_enum, default_value_t)]
        output: OutputFormat,
    },
}

pub fn run(args: &CatalogArgs, command: PacksCommand) -> anyhow::Result<ExitCode> {
    let catalog = args.load()?;
    match command {
        PacksCommand::List { output } => {
            let packs = catalog.summaries();
            match output {
                OutputFormat::Json => emit(&(serde_json::to_string_pretty(&packs)? + "\n")),
                OutputFormat::Yaml => emit(&serde_yaml_ng::to_string(&packs)?),
                OutputFormat::Table => {
                    let rows: Vec<Vec<String>> = packs
                        .iter()
                        .map(|p| {
                            vec![
                                p.name.clone(),
                                p.display_name.clone(),
                                p.category.clone(),
                                p.versions.join(", "),
                                p.dependencies.join(", "),
                            ]
                        })
                        .collect();
                    print_table(
                        &["NAME", "DISPLAY NAME", "CATEGORY", "VERSIONS", "NEEDS"],
                        &rows,
                    );
                    emit("\n");
                    for preset in catalog.presets() {
                        emit(&format!(
                            "preset {}: {}\n",
                            preset.name, preset.display_name
                        ));
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
