//! Which cluster a command talks to: `--cluster NAME` (saved, secrets from the keyring) or
//! `--kubeconfig FILE [--context C]` (as kubectl takes them, nothing saved).

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;
use vmdeck_vault::{ExecEnvironment, KeyringStore, SecretStore};

use crate::clusters_cmd::{LOGIN_SHELL_TIMEOUT, open_vault};

#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// A saved cluster (`vmdeckctl clusters add`); its secrets come from the OS keyring.
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with = "kubeconfig",
        required_unless_present = "kubeconfig"
    )]
    pub cluster: Option<String>,
    /// A kubeconfig file (nothing is saved).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig's context (default: its current context).
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    pub context: Option<String>,
}

impl TargetArgs {
    /// The target as a person reads it: the saved name, or the file and context.
    pub fn describe(&self) -> String {
        match (&self.cluster, &self.kubeconfig, &self.context) {
            (Some(name), _, _) => format!("cluster {name}"),
            (None, Some(file), Some(context)) => format!("{} (context {context})", file.display()),
            (None, Some(file), None) => file.display().to_string(),
            (None, None, _) => "no cluster".into(),
        }
    }

    /// A kube client for the target.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        Ok(self.connect().await?.0)
    }

    /// A kube client for the target and the cluster's identity for the install journal: the
    /// saved cluster's name, or the API server's URL.
    pub async fn connect(&self) -> anyhow::Result<(kube::Client, String)> {
        match (&self.cluster, &self.kubeconfig) {
            (Some(name), _) => {
                let store = KeyringStore::connect().map_err(|e| {
                    anyhow!(
                        "[{}] {e} (the saved cluster's secrets live there)",
                        e.code()
                    )
                })?;
                let store: std::sync::Arc<dyn SecretStore> = std::sync::Arc::new(store);
                let vault = open_vault(store, ExecEnvironment::detect(LOGIN_SHELL_TIMEOUT))?;
                let client = vault
                    .client(name)
                    .await
                    .map_err(|e| anyhow!("[{}] cluster {name}: {e}", e.code()))?;
                Ok((client, format!("saved cluster {name}")))
            }
            (None, Some(file)) => self.kubeconfig_client(file).await,
            (None, None) => Err(anyhow!(
                "name a cluster: --cluster NAME or --kubeconfig FILE"
            )),
        }
    }

    async fn kubeconfig_client(&self, file: &PathBuf) -> anyhow::Result<(kube::Client, String)> {
        let kubeconfig = kube::config::Kubeconfig::read_from(file)
            .with_context(|| format!("reading kubeconfig {}", file.display()))?;
        let options = kube::config::KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .with_context(|| format!("kubeconfig {}", self.describe()))?;
        let server = config.cluster_url.to_string();
        Ok((kube::Client::try_from(config)?, server))
    }
}

/// One or more clusters: saved ones (`--cluster`, repeatable) and contexts of one kubeconfig
/// (`--kubeconfig FILE`, `--context` repeatable).
#[derive(Args, Debug, Clone)]
pub struct TargetsArgs {
    /// A saved cluster (repeatable).
    #[arg(
        long = "cluster",
        value_name = "NAME",
        required_unless_present = "kubeconfig"
    )]
    pub clusters: Vec<String>,
    /// A kubeconfig file (nothing is saved).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig (repeatable; default: its current context).
    #[arg(long = "context", value_name = "NAME", requires = "kubeconfig")]
    pub contexts: Vec<String>,
}

impl TargetsArgs {
    /// Each cluster as a single target.
    pub fn each(&self) -> Vec<TargetArgs> {
        let mut targets: Vec<TargetArgs> = self
            .clusters
            .iter()
            .map(|name| TargetArgs {
                cluster: Some(name.clone()),
                kubeconfig: None,
                context: None,
            })
            .collect();
        if let Some(file) = &self.kubeconfig {
            let contexts: Vec<Option<String>> = if self.contexts.is_empty() {
                vec![None]
            } else {
                self.contexts.iter().cloned().map(Some).collect()
            };
            targets.extend(contexts.into_iter().map(|context| TargetArgs {
                cluster: None,
                kubeconfig: Some(file.clone()),
                context,
            }));
        }
        targets
    }
}
