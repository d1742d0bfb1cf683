//! Turns one chosen context of a loaded kubeconfig into a self-contained connection (files read now).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::connection::{
    ClusterConnection, ClusterWarning, Credentials, InteractiveMode, StoredAuthProvider,
    StoredEnvVar, StoredExec,
};
use crate::import_error::ImportError;
use crate::kubeconfig::UserFields;
use crate::kubeconfig_check::{
    certificates_from_pem, decode_base64, present, private_key_from_pem,
};
use crate::kubeconfig_merge::{LoadedKubeconfig, Sourced};
use crate::sensitive::Sensitive;

/// Largest referenced file (certificate, key, token) read at import.
const MAX_REFERENCED_FILE_BYTES: u64 = 1024 * 1024;

/// A context ready to be saved.
#[derive(Debug, Clone)]
pub struct ResolvedContext {
    pub context: String,
    pub connection: ClusterConnection,
    /// sha256 of the first CA certificate's DER, lowercase hex.
    pub ca_fingerprint: Option<String>,
    pub warnings: Vec<ClusterWarning>,
}

/// Resolves the named context (or current-context when `None`).
pub fn resolve_context(
    loaded: &LoadedKubeconfig,
    context: Option<&str>,
) -> Result<ResolvedContext, ImportError> {
    let chosen = match context {
        Some(name) => loaded.chosen_context(name)?,
        None => loaded.default_context()?,
    };
    let ctx = &chosen.item.context;
    let cluster = loaded.cluster(&ctx.cluster).ok_or_else(|| {
        ImportError::invalid(
            format!("contexts[{}].context.cluster", chosen.index),
            format!("refers to unknown cluster \"{}\"", ctx.cluster),
        )
    })?;
    let base = format!("clusters[{}].cluster", cluster.index);
    let fields = &cluster.item.cluster;
    let in_file = |e: ImportError| e.in_file(cluster.file.as_deref());

    let server = present(&fields.server).unwrap_or_default().to_string();
    let ca_pem = if let Some(data) = present(&fields.certificate_authority_data) {
        let field = format!("{base}.certificate-authority-data");
        Some(pem_text(&field, decode_base64(&field, data).map_err(in_file)?).map_err(in_file)?)
    } else if let Some(path) = present(&fields.certificate_authority) {
        let field = format!("{base}.certificate-authority");
        Some(pem_text(&field, read_referenced(&field, path, cluster)?).map_err(in_file)?)
    } else {
        None
    };
    let ca_fingerprint = match &ca_pem {
        Some(pem) => {
            let certs =
                certificates_from_pem(&format!("{base}.certificate-authority"), pem.as_bytes())
                    .map_err(in_file)?;
            Some(hex::encode(Sha256::digest(certs[0].as_ref())))
        }
        None => None,
    };
    let insecure = fields.insecure_skip_tls_verify == Some(true);
    let mut warnings = Vec::new();
    if insecure {
        warnings.push(ClusterWarning::InsecureSkipTlsVerify);
    }
    if server.starts_with("http://") {
        warnings.push(ClusterWarning::PlainHttp);
    }

    let credentials = if ctx.user.is_empty() {
        Credentials::default()
    } else {
        let user = loaded.user(&ctx.user).ok_or_else(|| {
            ImportError::invalid(
                format!("contexts[{}].context.user", chosen.index),
                format!("refers to unknown user \"{}\"", ctx.user),
            )
        })?;
        resolve_user(user)?
    };

    Ok(ResolvedContext {
        context: chosen.item.name.clone(),
        connection: ClusterConnection {
            server,
            ca_pem,
            insecure_skip_tls_verify: insecure,
            tls_server_name: present(&fields.tls_server_name).map(str::to_string),
            proxy_url: fields.proxy_url.clone().filter(|p| !p.expose().is_empty()),
            namespace: ctx.namespace.clone().filter(|n| !n.is_empty()),
            credentials,
        },
        ca_fingerprint,
        warnings,
    })
}

fn resolve_user(user: &Sourced<crate::kubeconfig::NamedUser>) -> Result<Credentials, ImportError> {
    let base = format!("users[{}].user", user.index);
    let fields: &UserFields = &user.item.user;
    let in_file = |e: ImportError| e.in_file(user.file.as_deref());
    let token = match (&fields.token, present(&fields.token_file)) {
        (Some(token), _) if !token.expose().is_empty() => Some(token.clone()),
        (_, Some(path)) => {
            let field = format!("{base}.tokenFile");
            let bytes = read_referenced(&field, path, user)?;
            let token = String::from_utf8(bytes)
                .map_err(|_| in_file(ImportError::invalid(&field, "token file is not text")))?;
            Some(Sensitive::new(token.trim().to_string()))
        }
        _ => None,
    };
    let mut creds = Credentials {
        token,
        ..Credentials::default()
    };

    if let Some(data) = fields
        .client_certificate_data
        .as_ref()
        .filter(|d| !d.expose().is_empty())
    {
        let field = format!("{base}.client-certificate-data");
        let pem = pem_text(
            &field,
            decode_base64(&field, data.expose()).map_err(in_file)?,
        )
        .map_err(in_file)?;
        creds.client_certificate_pem = Some(Sensitive::new(pem));
    } else if let Some(path) = present(&fields.client_certificate) {
        let field = format!("{base}.client-certificate");
        let pem = pem_text(&field, read_referenced(&field, path, user)?).map_err(in_file)?;
        certificates_from_pem(&field, pem.as_bytes()).map_err(in_file)?;
        creds.client_certificate_pem = Some(Sensitive::new(pem));
    }
    if let Some(data) = fields
        .client_key_data
        .as_ref()
        .filter(|d| !d.expose().is_empty())
    {
        let field = format!("{base}.client-key-data");
        let pem = pem_text(
            &field,
            decode_base64(&field, data.expose()).map_err(in_file)?,
        )
        .map_err(in_file)?;
        creds.client_key_pem = Some(Sensitive::new(pem));
    } else if let Some(path) = present(&fields.client_key) {
        let field = format!("{base}.client-key");
        let pem = pem_text(&field, read_referenced(&field, path, user)?).map_err(in_file)?;
        private_key_from_pem(&field, pem.as_bytes()).map_err(in_file)?;
        creds.client_key_pem = Some(Sensitive::new(pem));
    }

    creds.username = present(&fields.username).map(str::to_string);
    creds.password = fields.password.clone().filter(|p| !p.expose().is_empty());

    if let Some(exec) = &fields.exec {
        let command = present(&exec.command).unwrap_or_default();
        let command = if command.contains('/') || command.contains(std::path::MAIN_SEPARATOR) {
            let path = Path::new(command);
            if path.is_absolute() {
                command.to_string()
            } else {
                // kubectl: a command with a path separator is relative to the kubeconfig's directory.
                let dir = user.base_dir().ok_or_else(|| {
                    in_file(ImportError::invalid(
                        format!("{base}.exec.command"),
                        "relative path in pasted text: import the kubeconfig file instead, or use an absolute path",
                    ))
                })?;
                dir.join(path).to_string_lossy().into_owned()
            }
        } else {
            command.to_string()
        };
        let interactive_mode = match exec.interactive_mode.as_deref() {
            Some("Never") => InteractiveMode::Never,
            Some("Always") => InteractiveMode::Always,
            _ => InteractiveMode::IfAvailable,
        };
        creds.exec = Some(StoredExec {
            api_version: present(&exec.api_version).unwrap_or_default().to_string(),
            command,
            args: exec.args.clone(),
            env: exec
                .env
                .iter()
                .map(|v| StoredEnvVar {
                    name: v.name.clone(),
                    value: v.value.clone(),
                })
                .collect(),
            interactive_mode,
            provide_cluster_info: exec.provide_cluster_info,
            install_hint: exec.install_hint.clone(),
        });
    }
    if let Some(provider) = &fields.auth_provider {
        creds.auth_provider = Some(StoredAuthProvider {
            name: provider.name.clone(),
            config: provider.config.clone(),
        });
    }
    Ok(creds)
}

fn pem_text(field: &str, bytes: Vec<u8>) -> Result<String, ImportError> {
    String::from_utf8(bytes).map_err(|_| ImportError::invalid(field, "not PEM text"))
}

fn read_referenced<T>(field: &str, path: &str, entry: &Sourced<T>) -> Result<Vec<u8>, ImportError> {
    let in_file = |e: ImportError| e.in_file(entry.file.as_deref());
    let path = Path::new(path);
    let full: PathBuf = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match entry.base_dir() {
            Some(dir) => dir.join(path),
            None => {
                return Err(in_file(ImportError::invalid(
                    field,
                    "relative path in pasted text: import the kubeconfig file instead, or use an absolute path",
                )));
            }
        }
    };
    let meta = std::fs::metadata(&full).map_err(|e| {
        in_file(ImportError::invalid(
            field,
            format!("cannot read {}: {e}", full.display()),
        ))
    })?;
    if meta.len() > MAX_REFERENCED_FILE_BYTES {
        return Err(in_file(ImportError::invalid(
            field,
            format!("{} is larger than 1 MiB", full.display()),
        )));
    }
    std::fs::read(&full).map_err(|e| {
        in_file(ImportError::invalid(
            field,
            format!("cannot read {}: {e}", full.display()),
        ))
    })
}
