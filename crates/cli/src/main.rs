//! vmdeckctl: the command-line front end of VMDeck. This file only parses arguments and dispatches to one
//! module per subcommand group.

mod catalog_args;
mod clusters_cmd;
mod gates_cmd;
mod output_format;
mod packs_cmd;
mod profile_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "vmdeckctl",
    version,
    about = "Install KubeVirt packs and manage VMDeck profiles"
)]
struct Cli {
    #[command(flatten)]
    catalog: catalog_args::CatalogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The pack catalog.
    #[command(subcommand)]
    Packs(packs_cmd::PacksCommand),
    /// Create, check and render profiles.
    #[command(subcommand)]
    Profile(profile_cmd::ProfileCommand),
    /// KubeVirt and CDI feature gates per version.
    #[command(subcommand)]
    Gates(gates_cmd::GatesCommand),
    /// Saved clusters: add from a kubeconfig, list, check, remove.
    #[command(subcommand)]
    Clusters(clusters_cmd::ClustersCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Packs(command) => packs_cmd::run(&cli.catalog, command),
        Command::Profile(command) => profile_cmd::run(&cli.catalog, command),
        Command::Gates(command) => gates_cmd::run(&cli.catalog, command),
        Command::Clusters(command) => clusters_cmd::run_blocking(command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
