//! Fetching upstream sources: cache first, then the mirror (folder or URL) or the official URL, with progress
//! callbacks, a size limit and a hard sha256 check; unpinned sources need trust-on-first-use and are then locked.
//! File work (lock file, cache, mirror folder) runs on Tokio's blocking pool, never on an async worker.

use std::path::PathBuf;

use futures::StreamExt;
use vmdeck_packs::{DigestMismatch, FetchedSources, SourceRequest, UpstreamSource, digest};

use crate::cache::Cache;
use crate::lock::{Lock, LockError};
use crate::mirror::Mirror;

/// Upstream files are manifests; anything larger is refused.
pub const MAX_SOURCE_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes done so far for one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub url: String,
    pub done: u64,
    pub total: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{mismatch} (read from {from})")]
    Digest {
        mismatch: DigestMismatch,
        from: String,
    },
    #[error("{url} has no sha256 pin; confirm trust-on-first-use to download and pin it in {lock}")]
    Unpinned { url: String, lock: String },
    #[error("downloading {url} failed: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("reading {path} failed: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{url} is larger than {MAX_SOURCE_BYTES} bytes; refusing it")]
    TooLarge { url: String },
    #[error("lock file {path}: {source}")]
    Lock { path: String, source: LockError },
    #[error("cache {path}: {source}")]
    Cache {
        path: String,
        source: std::io::Error,
    },
    #[error("a background file task failed: {source}")]
    Task { source: tokio::task::JoinError },
}

impl SourceError {
    pub fn code(&self) -> &'static str {
        match self {
            SourceError::Digest { .. } => "digest_mismatch",
            SourceError::Unpinned { .. } => "source_unpinned",
            SourceError::Http { .. } => "download_failed",
            SourceError::Read { .. } => "mirror_read_failed",
            SourceError::TooLarge { .. } => "source_too_large",
            SourceError::Lock { .. } => "lock_file_failed",
            SourceError::Cache { .. } => "cache_failed",
            SourceError::Task { .. } => "internal",
        }
    }
}

/// An HTTPS client verifying against the platform's roots, with rustls on ring.
fn http_client() -> reqwest::Client {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another thread installing a provider is fine: one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::new()
}

/// Runs blocking file work on Tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SourceError> + Send + 'static,
) -> Result<T, SourceError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|source| SourceError::Task { source })?
}

/// Where sources come from and where they are kept.
#[derive(Debug, Clone)]
pub struct SourceStore {
    client: reqwest::Client,
    cache: Option<Cache>,
    mirror: Option<Mirror>,
    lock: Lock,
    trust_on_first_use: bool,
}

impl SourceStore {
    /// A store with a lock file at `lock_path`, no cache, no mirror and no trust-on-first-use.
    pub fn new(lock_path: impl Into<PathBuf>) -> SourceStore {
        SourceStore {
            client: http_client(),
            cache: None,
            mirror: None,
            lock: Lock::new(lock_path),
            trust_on_first_use: false,
        }
    }

    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = Some(Cache::new(dir));
        self
    }

    pub fn with_mirror(mut self, mirror: Mirror) -> Self {
        self.mirror = Some(mirror);
        self
    }

    /// Allow downloading sources without a pin; their digest is then written to the lock file.
    pub fn trust_on_first_use(mut self, yes: bool) -> Self {
        self.trust_on_first_use = yes;
        self
    }

    /// Fetch one source and check its digest.
    pub async fn fetch(
        &self,
        source: &UpstreamSource,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Vec<u8>, SourceError> {
        let lock_error = |lock: &Lock, source: LockError| SourceError::Lock {
            path: lock.path().display().to_string(),
            source,
        };
        let pin = match &source.sha256 {
            Some(pin) => Some(pin.clone()),
            None => {
                let (lock, url) = (self.lock.clone(), source.url.clone());
                blocking(move || lock.pin(&url).map_err(|e| lock_error(&lock, e))).await?
            }
        };
        if let (Some(pin), Some(cache)) = (&pin, &self.cache) {
            let (cache, pin) = (cache.clone(), pin.clone());
            if let Some(bytes) = blocking(move || Ok(cache.get(&pin))).await? {
                let len = bytes.len() as u64;
                progress(Progress {
                    url: source.url.clone(),
                    done: len,
                    total: Some(len),
                });
                return Ok(bytes);
            }
        }
        if pin.is_none() && !self.trust_on_first_use {
            return Err(SourceError::Unpinned {
                url: source.url.clone(),
                lock: self.lock.path().display().to_string(),
            });
        }
        let (bytes, from) = match &self.mirror {
            Some(Mirror::Dir(dir)) => {
                let path = dir.join(&source.mirror);
                let bytes = {
                    let path = path.clone();
                    blocking(move || {
                        std::fs::read(&path).map_err(|source| SourceError::Read {
                            path: path.display().to_string(),
                            source,
                        })
                    })
                    .await?
                };
                if bytes.len() as u64 > MAX_SOURCE_BYTES {
                    return Err(SourceError::TooLarge {
                        url: source.url.clone(),
                    });
                }
                let len = bytes.len() as u64;
                progress(Progress {
                    url: source.url.clone(),
                    done: len,
                    total: Some(len),
                });
                (bytes, path.display().to_string())
            }
            Some(mirror @ Mirror::Url(_)) => {
                let location = mirror.location(&source.mirror);
                (
                    self.download(&source.url, &location, progress).await?,
                    location,
                )
            }
            None => (
                self.download(&source.url, &source.url, progress).await?,
                source.url.clone(),
            ),
        };
        match &pin {
            Some(pin) => {
                digest::verify(&source.url, pin, &bytes)
                    .map_err(|mismatch| SourceError::Digest { mismatch, from })?;
            }
            None => {
                let (lock, url) = (self.lock.clone(), source.url.clone());
                let digest = digest::sha256_hex(&bytes);
                blocking(move || lock.record(&url, &digest).map_err(|e| lock_error(&lock, e)))
                    .await?;
            }
        }
        match &self.cache {
            Some(cache) => {
                let cache = cache.clone();
                blocking(move || {
                    cache
                        .put(&bytes)
                        .map(|_| bytes)
                        .map_err(|source| SourceError::Cache {
                            path: cache.root().display().to_string(),
                            source,
                        })
                })
                .await
            }
            None => Ok(bytes),
        }
    }

    /// Fetch every planned source (sequentially, in plan order).
    pub async fn fetch_all(
        &self,
        requests: &[SourceRequest],
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<FetchedSources, SourceError> {
        let mut out = FetchedSources::new();
        for request in requests {
            if out.contains_key(&request.source.url) {
                continue;
            }
            let bytes = self.fetch(&request.source, progress).await?;
            out.insert(request.source.url.clone(), bytes);
        }
        Ok(out)
    }

    /// GET `location` (the official URL or its mirror copy), reporting progress under `url`.
    async fn download(
        &self,
        url: &str,
        location: &str,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Vec<u8>, SourceError> {
        let http_error = |source: reqwest::Error| SourceError::Http {
            url: location.to_string(),
            source,
        };
        let response = self
            .client
            .get(location)
            .send()
            .await
            .map_err(http_error)?
            .error_for_status()
            .map_err(http_error)?;
        let total = response.content_length();
        if total.is_some_and(|t| t > MAX_SOURCE_BYTES) {
            return Err(SourceError::TooLarge {
                url: url.to_string(),
            });
        }
        let mut bytes = Vec::with_capacity(total.unwrap_or(0).min(MAX_SOURCE_BYTES) as usize);
        let mut stream = response.bytes_stream();
        progress(Progress {
            url: url.to_string(),
            done: 0,
            total,
        });
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(http_error)?;
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > MAX_SOURCE_BYTES {
                return Err(SourceError::TooLarge {
                    url: url.to_string(),
                });
            }
            progress(Progress {
                url: url.to_string(),
                done: bytes.len() as u64,
                total,
            });
        }
        Ok(bytes)
    }
}
