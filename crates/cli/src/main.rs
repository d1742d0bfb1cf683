//! vmdeckctl: the command-line front end of VMDeck. This file only parses arguments and dispatches to one
//! module per subcommand group.

mod catalog_args;
mod clusters_cmd;
mod console_cmd;
mod endpoints_cmd;
mod gates_cmd;
mod install_cmd;
mod install_run;
mod output_format;
mod packs_cmd;
mod plan_cmd;
mod preflight_cmd;
mod profile_cmd;
mod progress_view;
mod target;
mod vms_cmd;
mod vms_manage_cmd;

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
    /// Check a cluster before installing a profile: versions, permissions, KVM, storage, CNI and
    /// what is already installed (exits non-zero when a check fails; changes nothing).
    Preflight(preflight_cmd::PreflightArgs),
    /// What installing a profile would change on a cluster (nothing is changed).
    Plan(plan_cmd::PlanArgs),
    /// Install a profile onto a cluster (inventory first; waits until every pack is ready).
    Install(install_run::InstallArgs),
    /// Remove everything VMDeck installed on a cluster, and nothing else.
    Uninstall(install_cmd::UninstallArgs),
    /// What VMDeck installed on a cluster, from its inventory.
    Status(install_cmd::StatusArgs),
    /// VMs: list (and watch) them, power actions.
    #[command(subcommand)]
    Vms(vms_cmd::VmsCommand),
    /// A VM's serial console on this terminal (Ctrl+] leaves).
    Console(console_cmd::ConsoleArgs),
    /// A VM's VNC for a native viewer, through a loopback proxy.
    Vnc(console_cmd::VncArgs),
    /// Save a PNG of a VM's screen.
    Screenshot(console_cmd::ScreenshotArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Packs(command) => packs_cmd::run(&cli.catalog, command),
        Command::Profile(command) => profile_cmd::run(&cli.catalog, command),
        Command::Gates(command) => gates_cmd::run(&cli.catalog, command),
        Command::Clusters(command) => clusters_cmd::run_blocking(command),
        Command::Preflight(args) => preflight_cmd::run_preflight(&cli.catalog, args),
        Command::Plan(args) => plan_cmd::run_plan(&cli.catalog, args),
        Command::Install(args) => install_run::run_install(&cli.catalog, args),
        Command::Uninstall(args) => install_cmd::run_uninstall(args),
        Command::Status(args) => install_cmd::run_status(args),
        Command::Vms(command) => vms_cmd::run(command),
        Command::Console(args) => console_cmd::run_console(args),
        Command::Vnc(args) => console_cmd::run_vnc(args),
        Command::Screenshot(args) => console_cmd::run_screenshot(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
