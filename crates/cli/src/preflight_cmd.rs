//! `vmdeckctl preflight PROFILE TARGET [-o json]`: what the cluster must offer (and must not
//! already have) before the profile is installed, as a table of checks or the JSON report; exits
//! non-zero when a check fails. Nothing is changed on the cluster.

use std::process::ExitCode;

use clap::Args;
use vmdeck_installer::preflight::{
    Check, PreflightOptions, PreflightReport, TargetEndpoint, Verdict, preflight,
};

use crate::catalog_args::CatalogArgs;
use crate::install_cmd::runtime;
use crate::output_format::{emit, print_table};
use crate::profile_cmd::{RenderArgs, render_file};
use crate::target::TargetArgs;

#[derive(Args)]
pub struct PreflightArgs {
    #[command(flatten)]
    source: RenderArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// `text` (a table of checks) or `json` (the report).
    #[arg(short, long, value_enum, default_value_t = PreflightOutput::Text)]
    output: PreflightOutput,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PreflightOutput {
    Text,
    Json,
}

fn name(check: &Check) -> String {
    match &check.pack {
        Some(pack) => format!("{} ({pack})", check.id),
        None => check.id.to_string(),
    }
}

/// The table, each automatic fix under it, then the counts.
pub fn print_report(report: &PreflightReport) {
    let rows: Vec<Vec<String>> = report
        .checks
        .iter()
        .map(|c| {
            vec![
                name(c),
                c.verdict.as_str().to_string(),
                c.saw.clone(),
                c.fix.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print_table(&["CHECK", "VERDICT", "SAW", "FIX"], &rows);
    for check in &report.checks {
        if let Some(fix) = &check.auto_fix {
            let default = if fix.default { " (default)" } else { "" };
            let cost = fix
                .cost
                .as_ref()
                .map(|c| format!("; cost: {c}"))
                .unwrap_or_default();
            emit(&format!(
                "automatic fix {} for {}{default}: {}{cost}\n",
                fix.id,
                name(check),
                fix.summary
            ));
        }
    }
    let count = |v: Verdict| report.checks.iter().filter(|c| c.verdict == v).count();
    emit(&format!(
        "Kubernetes {}: {} failed, {} warned, {} passed\n",
        report.kubernetes_version,
        count(Verdict::Fail),
        count(Verdict::Warn),
        count(Verdict::Pass)
    ));
}

/// The endpoint the target's client connects to (for the proxy checks' TLS handshake): the
/// kubeconfig context's server and `tls-server-name`, or the saved cluster's endpoint in use.
pub(crate) async fn endpoint(target: &TargetArgs) -> anyhow::Result<Option<TargetEndpoint>> {
    match (&target.cluster, &target.kubeconfig) {
        (Some(name), _) => {
            let name = name.clone();
            // The keyring and the index are read off the async threads.
            tokio::task::spawn_blocking(move || {
                let store = vmdeck_vault::KeyringStore::connect()
                    .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
                let vault = crate::clusters_cmd::open_vault(
                    std::sync::Arc::new(store),
                    vmdeck_vault::ExecEnvironment::detect(crate::clusters_cmd::LOGIN_SHELL_TIMEOUT),
                )?;
                // The endpoint in use (direct or proxied).
                let connection = vault
                    .connection(&name)
                    .map_err(|e| anyhow::anyhow!("[{}] cluster {name}: {e}", e.code()))?;
                Ok(
                    TargetEndpoint::from_url(
                        &connection.server,
                        connection.tls_server_name.clone(),
                    )
                    .map(|e| {
                        e.with_proxy_url(connection.proxy_url.as_ref().map(|u| u.expose().clone()))
                    }),
                )
            })
            .await?
        }
        (None, Some(file)) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(file)?;
            let options = kube::config::KubeConfigOptions {
                context: target.context.clone(),
                ..Default::default()
            };
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?;
            Ok(TargetEndpoint::from_config(&config))
        }
        (None, None) => Ok(None),
    }
}

pub fn run_preflight(catalog: &CatalogArgs, args: PreflightArgs) -> anyhow::Result<ExitCode> {
    let catalog = catalog.load()?;
    let runtime = runtime()?;
    let Some((_, rendered)) = render_file(&catalog, &args.source, &runtime)? else {
        return Ok(ExitCode::FAILURE);
    };
    let report = runtime.block_on(async {
        let client = args.target.client().await?;
        let options = PreflightOptions {
            endpoint: endpoint(&args.target).await?,
            ..PreflightOptions::default()
        };
        preflight(client, &rendered, &catalog, options)
            .await
            .map_err(|e| anyhow::anyhow!("{e} [{}]", e.code()))
    })?;
    match args.output {
        PreflightOutput::Json => emit(&format!("{}\n", serde_json::to_string_pretty(&report)?)),
        PreflightOutput::Text => print_report(&report),
    }
    Ok(if report.blocks() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
