//! The local journal of install runs: one small file per cluster in the app's data directory,
//! replaced atomically as the run goes and removed when it ends well. A run cut short (a crash,
//! SIGKILL, a lost connection, a cancel) leaves its record behind, so the next start finds it and
//! offers to resume; running the install again converges to a clean install's state because the
//! in-cluster inventory lists everything already applied.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use vmdeck_packs::Rendered;

use crate::error::InstallError;
use crate::events::{Progress, ProgressSink};
use crate::install::{InstallOptions, InstallReport, install};

/// How a recorded run stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum RunState {
    /// Started and not seen ending: the process died or lost its cluster.
    Running,
    Failed {
        code: String,
        message: String,
    },
}

/// One install run as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// Which cluster (its API server URL, or the saved cluster's name).
    pub cluster: String,
    /// The profile installed, as YAML, without secrets.
    pub profile: String,
    /// Seconds since the Unix epoch.
    pub started: u64,
    #[serde(flatten)]
    pub state: RunState,
    /// Set once the inventory is in the cluster.
    pub inventory_written: bool,
    pub packs_ready: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("the install journal {path} cannot be written: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the install journal {path} cannot be read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the install journal {path} is damaged ({source}); delete it to start afresh")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl JournalError {
    pub fn code(&self) -> &'static str {
        match self {
            JournalError::Write { .. } => "journal_write_failed",
            JournalError::Read { .. } => "journal_read_failed",
            JournalError::Corrupt { .. } => "journal_corrupt",
        }
    }
}

/// A run's failure: the install's own, or the journal's.
#[derive(Debug, thiserror::Error)]
pub enum JournaledError {
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl JournaledError {
    pub fn code(&self) -> &'static str {
        match self {
            JournaledError::Install(e) => e.code(),
            JournaledError::Journal(e) => e.code(),
        }
    }
}

/// The journal's directory.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
}

/// FNV-1a: a stable file name for any cluster identity (not a secret, not security).
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Journal {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn path(&self, cluster: &str) -> PathBuf {
        let readable: String = cluster
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(48)
            .collect();
        self.dir
            .join(format!("{readable}-{:016x}.json", fingerprint(cluster)))
    }

    /// The unfinished run on `cluster`, if any.
    pub fn find(&self, cluster: &str) -> Result<Option<RunRecord>, JournalError> {
        read_record(&self.path(cluster))
    }

    /// Every unfinished run, oldest first.
    pub fn unfinished(&self) -> Result<Vec<RunRecord>, JournalError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(JournalError::Read {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut records = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Some(record) = read_record(&path)?
            {
                records.push(record);
            }
        }
        records.sort_by_key(|r| r.started);
        Ok(records)
    }

    /// Replaces the record atomically: a reader sees the old one or the new one, never half.
    pub fn write(&self, record: &RunRecord) -> Result<(), JournalError> {
        let path = self.path(&record.cluster);
        let failed = |source| JournalError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(failed)?;
        let text = serde_json::to_vec_pretty(record).expect("a record serialises");
        let mut file = atomic_write_file::AtomicWriteFile::open(&path).map_err(failed)?;
        file.write_all(&text).map_err(failed)?;
        file.commit().map_err(failed)
    }

    /// Forgets the run on `cluster` (it ended well, or the user discarded it).
    pub fn clear(&self, cluster: &str) -> Result<(), JournalError> {
        let path = self.path(cluster);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(JournalError::Write { path, source }),
        }
    }
}

fn read_record(path: &Path) -> Result<Option<RunRecord>, JournalError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(JournalError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|source| JournalError::Corrupt {
            path: path.to_path_buf(),
            source,
        })
}

async fn write_off_thread(journal: &Journal, record: &RunRecord) -> Result<(), JournalError> {
    let (journal, record) = (journal.clone(), record.clone());
    tokio::task::spawn_blocking(move || journal.write(&record))
        .await
        .expect("the journal writer does not panic")
}

/// Installs as [`install`] does, keeping the run's record in `journal` (under `cluster`) until
/// it ends well; a failed run's record says why.
pub async fn install_journaled(
    journal: &Journal,
    cluster: &str,
    client: kube::Client,
    rendered: &Rendered,
    profile_text: String,
    options: InstallOptions,
    progress: &ProgressSink,
) -> Result<InstallReport, JournaledError> {
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut record = RunRecord {
        cluster: cluster.to_string(),
        profile: profile_text.clone(),
        started,
        state: RunState::Running,
        inventory_written: false,
        packs_ready: Vec::new(),
    };
    write_off_thread(journal, &record).await?;
    let (sender, mut receiver) = mpsc::channel(64);
    let inner = ProgressSink::new(sender);
    let follow = async {
        while let Some(event) = receiver.recv().await {
            let changed = match &event {
                Progress::InventoryWritten { .. } => {
                    record.inventory_written = true;
                    true
                }
                Progress::PackReady { pack } => {
                    record.packs_ready.push(pack.clone());
                    true
                }
                _ => false,
            };
            if changed {
                write_off_thread(journal, &record).await?;
            }
            progress.send(event).await;
        }
        Ok::<_, JournalError>(record)
    };
    // The installer's sink goes when the install ends, which ends the follower.
    let result = async move {
        let result = install(client, rendered, profile_text, options, &inner).await;
        drop(inner);
        result
    };
    let (result, record) = tokio::join!(result, follow);
    let mut record = record?;
    match result {
        Ok(report) => {
            let journal = journal.clone();
            let cluster = cluster.to_string();
            tokio::task::spawn_blocking(move || journal.clear(&cluster))
                .await
                .expect("the journal writer does not panic")?;
            Ok(report)
        }
        Err(error) => {
            record.state = RunState::Failed {
                code: error.code().to_string(),
                message: error.to_string(),
            };
            write_off_thread(journal, &record).await?;
            Err(error.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cluster: &str, started: u64) -> RunRecord {
        RunRecord {
            cluster: cluster.into(),
            profile: "packs: []".into(),
            started,
            state: RunState::Running,
            inventory_written: true,
            packs_ready: vec!["kubevirt".into()],
        }
    }

    #[test]
    fn records_round_trip_per_cluster_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path().join("runs"));
        assert_eq!(journal.unfinished().unwrap(), Vec::new());
        let (one, two) = (
            record("https://127.0.0.1:6443", 2),
            record("cluster/with:odd chars", 1),
        );
        journal.write(&one).unwrap();
        journal.write(&two).unwrap();
        assert_eq!(journal.find(&one.cluster).unwrap(), Some(one.clone()));
        assert_eq!(
            journal.unfinished().unwrap(),
            vec![two.clone(), one.clone()]
        );
        let failed = RunRecord {
            state: RunState::Failed {
                code: "not_ready".into(),
                message: "virt-handler 2/3".into(),
            },
            ..one.clone()
        };
        journal.write(&failed).unwrap();
        assert_eq!(journal.find(&one.cluster).unwrap(), Some(failed));
        journal.clear(&one.cluster).unwrap();
        journal.clear(&one.cluster).unwrap();
        assert_eq!(journal.unfinished().unwrap(), vec![two]);
        // No temporary file is left behind by the atomic writes.
        let names: Vec<String> = std::fs::read_dir(dir.path().join("runs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| n.ends_with(".json")), "{names:?}");
    }

    #[test]
    fn a_damaged_record_is_named_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path());
        let path = journal.path("c");
        std::fs::write(&path, "{half").unwrap();
        let error = journal.find("c").unwrap_err();
        assert_eq!(error.code(), "journal_corrupt");
        assert!(error.to_string().contains("delete it"), "{error}");
    }
}
