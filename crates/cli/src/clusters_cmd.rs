//! `vmdeckctl clusters`: add, list, check and remove saved clusters over the vault; their
//! endpoints (direct, proxied) in `endpoints_cmd`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use vmdeck_vault::{
    AppDirs, ContextPick, ExecEnvironment, ImportRequest, KeyringStore, SecretStore, SessionStore,
    Vault, VaultError,
};

/// Environment variable that selects the in-memory session store (`1` or `true`).
pub const SESSION_ONLY_ENV: &str = "VMDECK_SESSION_ONLY";

/// How long the login shell may take to print its PATH.
pub(crate) const LOGIN_SHELL_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Keep secrets in memory only, gone when the command exits (also VMDECK_SESSION_ONLY=1)
    #[arg(long)]
    pub session_only: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ClustersCommand {
    /// Save a cluster from a kubeconfig file (secrets go to the OS keyring)
    Add {
        /// Kubeconfig file to import
        #[arg(long = "from", value_name = "FILE")]
        from: PathBuf,
        /// Context to import (default: current-context)
        #[arg(long)]
        context: Option<String>,
        /// Name to save the cluster under (default: the context name)
        #[arg(long)]
        name: Option<String>,
        /// Replace a saved cluster with the same name
        #[arg(long)]
        overwrite: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List saved clusters
    List {
        /// Output format
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: ListFormat,
    },
    /// Check that a saved cluster answers (exit 0 when reachable)
    Check {
        name: String,
        /// Seconds allowed for each step
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show a saved cluster's endpoints (direct, proxied): which answers, which is in use
    Endpoints {
        name: String,
        /// Output format
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: ListFormat,
        /// Seconds allowed for each step of each check
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Switch the endpoint a saved cluster's commands use
    UseEndpoint {
        name: String,
        #[arg(value_enum)]
        endpoint: crate::endpoints_cmd::EndpointArg,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Add access through the Spectro-style reverse proxy (https://cluster-<uid>.<server>:<port>)
    /// with the same credentials; switches to it unless --keep-direct
    AddProxied {
        name: String,
        #[command(flatten)]
        proxied: crate::endpoints_cmd::AddProxiedArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a saved cluster and its keyring entry
    Remove {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn session_only(args: &StoreArgs) -> bool {
    args.session_only
        || std::env::var(SESSION_ONLY_ENV)
            .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

fn coded(err: VaultError) -> anyhow::Error {
    anyhow!("[{}] {err}", err.code())
}

fn open_store(args: &StoreArgs) -> Result<Arc<dyn SecretStore>> {
    if session_only(args) {
        return Ok(Arc::new(SessionStore::new()));
    }
    KeyringStore::connect()
        .map(|store| Arc::new(store) as Arc<dyn SecretStore>)
        .map_err(|e| {
            anyhow!(
                "[{}] {e} (pass --session-only or set {SESSION_ONLY_ENV}=1)",
                e.code()
            )
        })
}

pub(crate) fn open_vault(store: Arc<dyn SecretStore>, exec: ExecEnvironment) -> Result<Vault> {
    let dirs = AppDirs::from_env_or_system().map_err(|e| anyhow!("[{}] {e}", e.code()))?;
    let vault = Vault::new(&dirs, store, exec);
    // Secrets left by an interrupted removal or import; a failure here only delays it.
    if let Err(err) = vault.sweep_orphans() {
        eprintln!(
            "warning: [{}] secrets of removed clusters could not be deleted yet: {err}",
            err.code()
        );
    }
    Ok(vault)
}

/// Runs a clusters subcommand on its own tokio runtime (for the synchronous `main`).
pub fn run_blocking(cmd: ClustersCommand) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cmd))?;
    Ok(ExitCode::SUCCESS)
}

pub async fn run(cmd: ClustersCommand) -> Result<()> {
    match cmd {
        ClustersCommand::Add {
            from,
            context,
            name,
            overwrite,
            store,
        } => {
            let vault = open_vault(
                open_store(&store)?,
                ExecEnvironment::with_path(std::env::var_os("PATH").unwrap_or_default()),
            )?;
            let request = ImportRequest {
                picks: vec![ContextPick { context, name }],
                overwrite,
            };
            for saved in vault.import_from_path(&from, &request).map_err(coded)? {
                println!(
                    "added cluster \"{}\" ({}) from context \"{}\"",
                    saved.name, saved.server, saved.context
                );
                for warning in saved.warnings() {
                    eprintln!("warning [{}]: {}", warning.code(), warning.message());
                }
                if session_only(&store) {
                    eprintln!(
                        "note: session-only mode: the secrets are gone when this command exits"
                    );
                }
            }
            Ok(())
        }
        ClustersCommand::List { output } => {
            // Listing reads only the non-secret index: no keyring access needed.
            let vault = open_vault(
                Arc::new(SessionStore::new()),
                ExecEnvironment::with_path(""),
            )?;
            let clusters = vault.list().map_err(coded)?;
            match output {
                ListFormat::Json => println!("{}", serde_json::to_string_pretty(&clusters)?),
                ListFormat::Table => {
                    if clusters.is_empty() {
                        println!(
                            "no clusters saved; add one with: vmdeckctl clusters add --from FILE"
                        );
                    }
                    for c in &clusters {
                        let warn = if c.warnings().is_empty() {
                            ""
                        } else {
                            "  (!) TLS/transport warning"
                        };
                        println!("{:<24} {:<40} {}{}", c.name, c.server, c.context, warn);
                    }
                }
            }
            Ok(())
        }
        ClustersCommand::Check {
            name,
            timeout,
            json,
            store,
        } => {
            let exec = ExecEnvironment::detect(LOGIN_SHELL_TIMEOUT);
            let vault = open_vault(open_store(&store)?, exec)?
                .with_check_timeout(Duration::from_secs(timeout.max(1)));
            let report = vault.check(&name).await.map_err(coded)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if report.reachable {
                println!(
                    "{name}: reachable, Kubernetes {}",
                    report.kubernetes_version.as_deref().unwrap_or("?")
                );
                match report.node_count {
                    Some(n) => println!("  nodes: {n}"),
                    None => println!("  nodes: unknown (no permission to list nodes)"),
                }
                match &report.kubevirt {
                    Some(kv) if kv.installed => {
                        println!(
                            "  KubeVirt: installed, version {}",
                            kv.version.as_deref().unwrap_or("unknown")
                        )
                    }
                    Some(_) => println!("  KubeVirt: not installed"),
                    None => println!("  KubeVirt: unknown"),
                }
                match report.can_install {
                    Some(true) => println!("  may install: yes"),
                    Some(false) => {
                        println!("  may install: no (cannot create CustomResourceDefinitions)")
                    }
                    None => println!("  may install: unknown"),
                }
            }
            match report.failure {
                None => Ok(()),
                Some(failure) => Err(anyhow!("[{}] {name}: {}", failure.code, failure.message)),
            }
        }
        ClustersCommand::Endpoints {
            name,
            output,
            timeout,
            store,
        } => {
            let exec = ExecEnvironment::detect(LOGIN_SHELL_TIMEOUT);
            let vault = open_vault(open_store(&store)?, exec)?
                .with_check_timeout(Duration::from_secs(timeout.max(1)));
            crate::endpoints_cmd::endpoints(&vault, &name, output).await
        }
        ClustersCommand::UseEndpoint {
            name,
            endpoint,
            store,
        } => {
            let vault = open_vault(open_store(&store)?, ExecEnvironment::with_path(""))?;
            crate::endpoints_cmd::use_endpoint(&vault, &name, endpoint)
        }
        ClustersCommand::AddProxied {
            name,
            proxied,
            store,
        } => {
            let exec = ExecEnvironment::detect(LOGIN_SHELL_TIMEOUT);
            let vault = open_vault(open_store(&store)?, exec)?;
            crate::endpoints_cmd::add_proxied(&vault, &name, proxied).await
        }
        ClustersCommand::Remove { name, store } => {
            let vault = open_vault(open_store(&store)?, ExecEnvironment::with_path(""))?;
            vault.remove(&name).map_err(coded)?;
            println!("removed cluster \"{name}\"");
            Ok(())
        }
    }
}
