//! Spectro Proxy: the frp server address of the pack's rendered frpc config resolves and accepts
//! TCP from this machine, within a short timeout. Only a warning: the frp client dials from inside
//! the cluster, whose network may differ from this machine's.

use std::time::{Duration, Instant};

use tokio::net::{TcpStream, lookup_host};
use tokio::time::timeout;

use super::context::Context;
use super::error::PreflightError;
use super::report::{Check, CheckId, Verdict};

pub const PROXY_PACK: &str = "spectro-proxy";
const CONFIG_MAP: &str = "frpc-config";
const CONFIG_KEY: &str = "frpc.toml";

/// `serverAddr` and `serverPort` of an frpc TOML config.
pub(super) fn server_of(config: &str) -> (Option<String>, Option<u16>) {
    let mut address = None;
    let mut port = None;
    for line in config.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim() {
            "serverAddr" => address = Some(value.to_string()).filter(|v| !v.is_empty()),
            "serverPort" => port = value.parse().ok(),
            _ => {}
        }
    }
    (address, port)
}

pub(super) async fn check(ctx: &Context<'_>) -> Result<Vec<Check>, PreflightError> {
    if ctx.chosen(PROXY_PACK).is_none() {
        return Ok(Vec::new());
    }
    let config = ctx
        .rendered_object(PROXY_PACK, "ConfigMap", Some(CONFIG_MAP))
        .and_then(|cm| cm["data"][CONFIG_KEY].as_str())
        .unwrap_or_default();
    let (address, port) = server_of(config);
    let warn = |saw: String, fix: &str| Check {
        id: CheckId::ProxyReachable,
        pack: Some(PROXY_PACK.into()),
        verdict: Verdict::Warn,
        saw,
        fix: Some(fix.to_string()),
        auto_fix: None,
    };
    let Some(address) = address else {
        return Ok(vec![warn(
            "the profile sets no frp server address".into(),
            "Set server.address on pack spectro-proxy.",
        )]);
    };
    let port = port.unwrap_or(443);
    let limit = ctx.options.connect_timeout;
    let fix = "Check server.address and server.port on pack spectro-proxy and that this network may reach the frp \
               server (firewall, proxy); frpc in the cluster dials from the cluster's network, which may differ.";
    let resolved = match timeout(limit, lookup_host((address.as_str(), port))).await {
        Ok(Ok(found)) => found.collect::<Vec<_>>(),
        Ok(Err(error)) => {
            return Ok(vec![warn(
                format!("{address} does not resolve: {error}"),
                fix,
            )]);
        }
        Err(_) => {
            return Ok(vec![warn(
                format!("{address} did not resolve within {limit:?}"),
                fix,
            )]);
        }
    };
    let Some(first) = resolved.first().copied() else {
        return Ok(vec![warn(format!("{address} resolves to no address"), fix)]);
    };
    let started = Instant::now();
    let saw = match timeout(limit, TcpStream::connect(first)).await {
        Ok(Ok(_stream)) => {
            return Ok(vec![Check {
                id: CheckId::ProxyReachable,
                pack: Some(PROXY_PACK.into()),
                verdict: Verdict::Pass,
                saw: format!(
                    "{address}:{port} resolves to {} and accepts TCP from this machine ({} ms)",
                    first.ip(),
                    started.elapsed().as_millis()
                ),
                fix: None,
                auto_fix: None,
            }]);
        }
        Ok(Err(error)) => format!("{address}:{port} ({}) refuses TCP: {error}", first.ip()),
        Err(_) => format!(
            "{address}:{port} ({}) did not accept TCP within {limit:?}",
            first.ip()
        ),
    };
    Ok(vec![warn(saw, fix)])
}

/// The default timeout of resolving and connecting.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

#[cfg(test)]
mod tests {
    use super::server_of;

    #[test]
    fn the_server_comes_from_the_frpc_config() {
        let config =
            "serverAddr = \"proxy.example.com\"\nserverPort = 7000\nauth.method = \"token\"\n";
        assert_eq!(
            server_of(config),
            (Some("proxy.example.com".into()), Some(7000))
        );
        assert_eq!(server_of("serverAddr = \"\"\n"), (None, None));
    }
}
