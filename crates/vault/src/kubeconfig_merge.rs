//! Loading kubeconfigs from a file, pasted text or `$KUBECONFIG`/`~/.kube/config`, merged the kubectl way.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::import_error::ImportError;
use crate::kubeconfig::{Kubeconfig, NamedCluster, NamedContext, NamedUser, parse_kubeconfig};
use crate::kubeconfig_check::{check_document, present};

/// Largest kubeconfig file read (real ones are a few KiB).
const MAX_KUBECONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// An entry with the file it came from and its index there (for relative paths and error messages).
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    pub item: T,
    pub file: Option<PathBuf>,
    pub index: usize,
}

impl<T> Sourced<T> {
    /// Directory that relative paths in this entry are relative to (none for pasted text).
    pub fn base_dir(&self) -> Option<&Path> {
        self.file.as_deref().and_then(Path::parent)
    }
}

/// One or more kubeconfig documents merged: first file wins per name, current-context from
/// the first file that sets it.
#[derive(Debug, Clone, Default)]
pub struct LoadedKubeconfig {
    pub clusters: Vec<Sourced<NamedCluster>>,
    pub users: Vec<Sourced<NamedUser>>,
    pub contexts: Vec<Sourced<NamedContext>>,
    pub current_context: Option<String>,
    /// Files read, in merge order (empty for pasted text).
    pub files: Vec<PathBuf>,
}

/// What the UI shows when the user chooses contexts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextSummary {
    pub name: String,
    pub cluster: String,
    pub user: String,
    pub namespace: Option<String>,
    pub server: String,
    pub is_current: bool,
}

/// Loads pasted kubeconfig text. Relative file paths inside it cannot be resolved later.
pub fn load_text(text: &str) -> Result<LoadedKubeconfig, ImportError> {
    let config = parse_kubeconfig(text)?;
    check_document(&config)?;
    merge(vec![(None, config)])
}

/// Loads one kubeconfig file.
pub fn load_path(path: &Path) -> Result<LoadedKubeconfig, ImportError> {
    let config = read_document(path)?;
    merge(vec![(Some(absolute(path)), config)])
}

/// Loads `$KUBECONFIG` (a path list) or else `~/.kube/config`.
pub fn discover() -> Result<LoadedKubeconfig, ImportError> {
    let home = directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf());
    discover_in(std::env::var_os("KUBECONFIG"), home)
}

/// [`discover`] with the environment passed in (for tests and for the UI's own settings).
pub fn discover_in(
    kubeconfig_var: Option<OsString>,
    home: Option<PathBuf>,
) -> Result<LoadedKubeconfig, ImportError> {
    let candidates: Vec<PathBuf> = match kubeconfig_var.filter(|v| !v.is_empty()) {
        Some(list) => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => home
            .map(|h| h.join(".kube").join("config"))
            .into_iter()
            .collect(),
    };
    let mut seen = HashSet::new();
    let mut documents = Vec::new();
    for path in &candidates {
        // kubectl skips list entries that do not exist.
        if !path.is_file() || !seen.insert(absolute(path)) {
            continue;
        }
        documents.push((Some(absolute(path)), read_document(path)?));
    }
    if documents.is_empty() {
        let searched = if candidates.is_empty() {
            "no KUBECONFIG and no home directory".to_string()
        } else {
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(ImportError::NothingDiscovered { searched });
    }
    merge(documents)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn read_document(path: &Path) -> Result<Kubeconfig, ImportError> {
    let unreadable = |reason: String| ImportError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?;
    if meta.len() > MAX_KUBECONFIG_BYTES {
        return Err(unreadable(format!(
            "larger than {MAX_KUBECONFIG_BYTES} bytes"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| unreadable("not UTF-8 text".to_string()))?;
    let config = parse_kubeconfig(&text).map_err(|e| e.in_file(Some(path)))?;
    check_document(&config).map_err(|e| e.in_file(Some(path)))?;
    Ok(config)
}

fn merge(documents: Vec<(Option<PathBuf>, Kubeconfig)>) -> Result<LoadedKubeconfig, ImportError> {
    let mut loaded = LoadedKubeconfig::default();
    for (file, config) in documents {
        if let Some(f) = &file {
            loaded.files.push(f.clone());
        }
        if loaded.current_context.is_none() {
            loaded.current_context = present(&config.current_context).map(str::to_string);
        }
        for (index, item) in config.clusters.into_iter().enumerate() {
            if !loaded.clusters.iter().any(|c| c.item.name == item.name) {
                loaded.clusters.push(Sourced {
                    item,
                    file: file.clone(),
                    index,
                });
            }
        }
        for (index, item) in config.users.into_iter().enumerate() {
            if !loaded.users.iter().any(|u| u.item.name == item.name) {
                loaded.users.push(Sourced {
                    item,
                    file: file.clone(),
                    index,
                });
            }
        }
        for (index, item) in config.contexts.into_iter().enumerate() {
            if !loaded.contexts.iter().any(|c| c.item.name == item.name) {
                loaded.contexts.push(Sourced {
                    item,
                    file: file.clone(),
                    index,
                });
            }
        }
    }
    check_references(&loaded)?;
    Ok(loaded)
}

fn check_references(loaded: &LoadedKubeconfig) -> Result<(), ImportError> {
    for context in &loaded.contexts {
        let base = format!("contexts[{}].context", context.index);
        let cluster = &context.item.context.cluster;
        if loaded.cluster(cluster).is_none() {
            return Err(ImportError::invalid(
                format!("{base}.cluster"),
                format!("refers to unknown cluster \"{cluster}\""),
            )
            .in_file(context.file.as_deref()));
        }
        let user = &context.item.context.user;
        if !user.is_empty() && loaded.user(user).is_none() {
            return Err(ImportError::invalid(
                format!("{base}.user"),
                format!("refers to unknown user \"{user}\""),
            )
            .in_file(context.file.as_deref()));
        }
    }
    Ok(())
}

impl LoadedKubeconfig {
    pub fn cluster(&self, name: &str) -> Option<&Sourced<NamedCluster>> {
        self.clusters.iter().find(|c| c.item.name == name)
    }

    pub fn user(&self, name: &str) -> Option<&Sourced<NamedUser>> {
        self.users.iter().find(|u| u.item.name == name)
    }

    pub fn context(&self, name: &str) -> Option<&Sourced<NamedContext>> {
        self.contexts.iter().find(|c| c.item.name == name)
    }

    /// The contexts the user can choose from.
    pub fn context_summaries(&self) -> Vec<ContextSummary> {
        self.contexts
            .iter()
            .map(|c| ContextSummary {
                name: c.item.name.clone(),
                cluster: c.item.context.cluster.clone(),
                user: c.item.context.user.clone(),
                namespace: c.item.context.namespace.clone(),
                server: self
                    .cluster(&c.item.context.cluster)
                    .and_then(|cl| cl.item.cluster.server.clone())
                    .unwrap_or_default(),
                is_current: self.current_context.as_deref() == Some(c.item.name.as_str()),
            })
            .collect()
    }

    /// The context to use when none is chosen: current-context.
    pub fn default_context(&self) -> Result<&Sourced<NamedContext>, ImportError> {
        let available = self.available_contexts();
        match &self.current_context {
            Some(name) => self.context(name).ok_or(ImportError::UnknownContext {
                name: name.clone(),
                available,
            }),
            None if self.contexts.len() == 1 => Ok(&self.contexts[0]),
            None => Err(ImportError::NoContextChosen { available }),
        }
    }

    /// Finds a chosen context by name.
    pub fn chosen_context(&self, name: &str) -> Result<&Sourced<NamedContext>, ImportError> {
        self.context(name)
            .ok_or_else(|| ImportError::UnknownContext {
                name: name.to_string(),
                available: self.available_contexts(),
            })
    }

    fn available_contexts(&self) -> String {
        if self.contexts.is_empty() {
            return "(none)".to_string();
        }
        self.contexts
            .iter()
            .map(|c| c.item.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn merge_keeps_first_file_per_name_and_first_current_context() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a",
            "clusters:\n- name: shared\n  cluster: {server: 'https://first:6443'}\ncontexts:\n- name: ctx-a\n  context: {cluster: shared}\n",
        );
        let b = write(
            dir.path(),
            "b",
            "current-context: ctx-b\nclusters:\n- name: shared\n  cluster: {server: 'https://second:6443'}\n- name: only-b\n  cluster: {server: 'https://b:6443'}\ncontexts:\n- name: ctx-b\n  context: {cluster: only-b}\n",
        );
        let c = write(dir.path(), "c", "current-context: ctx-a\n");
        let missing = dir.path().join("missing");
        let list = std::env::join_paths([&a, &missing, &b, &c]).unwrap();
        let loaded = discover_in(Some(list), None).unwrap();
        assert_eq!(
            loaded
                .cluster("shared")
                .unwrap()
                .item
                .cluster
                .server
                .as_deref(),
            Some("https://first:6443")
        );
        assert!(loaded.cluster("only-b").is_some());
        assert_eq!(loaded.current_context.as_deref(), Some("ctx-b"));
        assert_eq!(loaded.files.len(), 3);
        assert_eq!(loaded.default_context().unwrap().item.name, "ctx-b");
    }

    #[test]
    fn home_kube_config_is_the_fallback() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".kube")).unwrap();
        write(
            &home.path().join(".kube"),
            "config",
            "clusters:\n- name: c\n  cluster: {server: 'https://h:1'}\ncontexts:\n- name: x\n  context: {cluster: c}\n",
        );
        let loaded = discover_in(None, Some(home.path().to_path_buf())).unwrap();
        assert_eq!(loaded.context_summaries()[0].server, "https://h:1");
        let empty = tempfile::tempdir().unwrap();
        let err = discover_in(None, Some(empty.path().to_path_buf())).unwrap_err();
        assert_eq!(err.code(), "kubeconfig_not_found");
    }

    #[test]
    fn unknown_cluster_reference_names_the_field() {
        let err = load_text(
            "clusters:\n- name: c\n  cluster: {server: 'https://h:1'}\ncontexts:\n- name: ok\n  context: {cluster: c}\n- name: bad\n  context: {cluster: x}\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "contexts[1].context.cluster: refers to unknown cluster \"x\""
        );
    }
}
