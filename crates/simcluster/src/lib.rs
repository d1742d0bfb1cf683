//! simcluster: a simulated Kubernetes API server that kubectl and kube-rs accept unchanged.
//! VMDeck's demo mode and the ground its tests and benchmarks stand on.
//!
//! ```no_run
//! # async fn demo() -> Result<(), simcluster::StartError> {
//! let cluster = simcluster::SimCluster::start(simcluster::Options::default()).await?;
//! let client = cluster.client().await;
//! # Ok(()) }
//! ```

pub mod admission;
pub mod api;
pub mod auth;
pub mod builtin_schemas;
pub mod cluster;
pub mod consoles;
pub mod controllers;
pub mod discovery;
pub mod extensions;
pub mod faults;
pub mod fieldset;
pub mod kubeconfig;
pub mod list_types;
pub mod managed;
pub mod merge;
pub mod objects;
pub mod openapi;
pub mod operators;
pub mod persist;
pub mod pki;
pub mod protobuf;
pub mod registry;
pub mod request;
pub mod resources;
pub mod schema;
pub mod selectors;
pub mod server;
pub mod status;
pub mod store;
pub mod table;
pub mod topology;
pub mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch as signal;
use tokio::task::JoinHandle;

use crate::cluster::Cluster;
use crate::faults::{FaultSettings, Faults};
use crate::objects::Objects;
use crate::pki::Pki;
use crate::registry::Registry;
use crate::store::Store;
use crate::topology::Topology;

/// The Kubernetes version simcluster reports.
pub const KUBERNETES_VERSION: &str = "v1.34.1";

/// The CSI driver of simcluster's StorageClass `standard` (what a VolumeSnapshotClass for its
/// volumes names).
pub const CSI_DRIVER: &str = "hostpath.csi.simcluster.vmdeck.io";

/// How to start a simulated cluster.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    pub latency_ms: u64,
    pub fault_rate: f64,
    pub seed: u64,
    pub state: Option<PathBuf>,
    pub nodes: usize,
    pub kvm: bool,
    pub bare: bool,
    /// Changes kept for watches to resume from (older resourceVersions get 410 Gone).
    pub watch_history: usize,
    pub bookmark_interval: Duration,
    /// How long workloads, operator deployments and VM starts take to become ready.
    pub ready_delay: Duration,
    /// Spread ready delays between 1x and 3x `ready_delay` per object.
    pub ready_jitter: bool,
    /// Start with KubeVirt and CDI (operators and CRs) installed and Deployed.
    pub with_kubevirt: bool,
    /// VMs to seed (mixed running and stopped, across namespaces) once KubeVirt's API is served.
    pub vms: usize,
    /// Start with a snapshot controller (and its CRDs) installed by someone else.
    pub with_snapshot_controller: bool,
    /// Connections served at once (default 1024); more clients wait until one closes.
    pub max_connections: usize,
    /// How long shutdown waits for open connections to finish (default 10 s).
    pub shutdown_grace: Duration,
    /// Extra names (DNS names or IPs) on the serving certificate, e.g. the name a reverse proxy
    /// routes by SNI (`cluster-<uid>.<proxy host>`), besides localhost and the loopback IPs.
    pub tls_sans: Vec<String>,
}

impl Options {
    /// `simcluster serve --demo`: 3 nodes with KVM, default StorageClass and CNI, KubeVirt not yet
    /// installed, 12 VMs in 3 namespaces that appear once it is, ready delays of 1-3 s.
    pub fn demo() -> Self {
        Self {
            nodes: 3,
            kvm: true,
            bare: false,
            ready_delay: Duration::from_secs(1),
            ready_jitter: true,
            vms: 12,
            ..Self::default()
        }
    }

    fn operator_settings(&self) -> operators::OperatorSettings {
        operators::OperatorSettings {
            timing: operators::Timing {
                ready_delay: self.ready_delay,
                jitter: self.ready_jitter,
            },
            with_kubevirt: self.with_kubevirt,
            with_snapshot_controller: self.with_snapshot_controller,
            vms: self.vms,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            latency_ms: 0,
            fault_rate: 0.0,
            seed: 0,
            state: None,
            nodes: 3,
            kvm: true,
            bare: false,
            watch_history: 100_000,
            bookmark_interval: Duration::from_secs(5),
            ready_delay: Duration::ZERO,
            ready_jitter: false,
            with_kubevirt: false,
            vms: 0,
            with_snapshot_controller: false,
            max_connections: server::Limits::default().max_connections,
            shutdown_grace: server::Limits::default().shutdown_grace,
            tls_sans: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    #[error(transparent)]
    State(#[from] persist::StateError),
    #[error("fault rate must be between 0 and 1 (got {0})")]
    FaultRate(f64),
    #[error("seeding the cluster: {0}")]
    Seed(#[from] status::ApiError),
}

/// A running simulated cluster. Dropping it stops the server.
pub struct SimCluster {
    url: String,
    kubeconfig: String,
    cluster: Arc<Cluster>,
    shutdown: signal::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimCluster {
    /// Start serving (on a background task of the current Tokio runtime).
    pub async fn start(options: Options) -> Result<Self, StartError> {
        if !(0.0..=1.0).contains(&options.fault_rate) {
            return Err(StartError::FaultRate(options.fault_rate));
        }
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: options.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: options.listen,
            source,
        })?;
        let saved = match &options.state {
            Some(path) => persist::load(path).await?,
            None => None,
        };
        let mut hosts = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        if !addr.ip().is_loopback() && !addr.ip().is_unspecified() {
            hosts.push(addr.ip().to_string());
        }
        for name in &options.tls_sans {
            if !hosts.contains(name) {
                hosts.push(name.clone());
            }
        }
        let (pki, snapshot) = match saved {
            Some(mut state) => {
                state.pki.ensure_server_names(&hosts)?;
                (state.pki, Some(state.store))
            }
            None => (Pki::generate(&hosts)?, None),
        };
        let store = Arc::new(Store::new(options.watch_history));
        let fresh = snapshot.is_none();
        if let Some(snapshot) = snapshot {
            store.restore(snapshot);
        }
        let registry = Arc::new(Registry::with_builtins());
        let cluster = Arc::new(Cluster {
            objects: Objects::new(store, registry),
            faults: Faults::new(
                FaultSettings {
                    latency_ms: options.latency_ms,
                    fault_rate: options.fault_rate,
                },
                options.seed,
            ),
            server_version: KUBERNETES_VERSION.to_string(),
            address: addr.to_string(),
            bookmark_interval: options.bookmark_interval,
            pki,
        });
        controllers::crd::register_stored(&cluster);
        consoles::install(&cluster);
        if fresh {
            topology::seed(
                &cluster,
                &Topology {
                    nodes: options.nodes,
                    kvm: options.kvm,
                    bare: options.bare,
                },
            )?;
        }
        let operator_settings = options.operator_settings();
        let webhooks = operators::prepare(&cluster, &operator_settings, fresh)?;
        let tls = cluster.pki.server_config()?;
        let (shutdown, shutdown_rx) = signal::channel(false);
        let mut tasks = controllers::spawn_all(&cluster, &shutdown_rx);
        tasks.extend(operators::spawn(
            &cluster,
            &shutdown_rx,
            &operator_settings,
            webhooks,
            fresh,
        ));
        if let Some(path) = &options.state {
            persist::save(path, &cluster).await?;
            tasks.push(tokio::spawn(persist::run(
                cluster.clone(),
                path.clone(),
                shutdown_rx.clone(),
                Duration::from_millis(200),
            )));
        }
        tasks.push(tokio::spawn(server::serve(
            listener,
            tls,
            cluster.clone(),
            shutdown_rx,
            server::Limits {
                max_connections: options.max_connections,
                shutdown_grace: options.shutdown_grace,
            },
        )));
        let url = format!("https://{addr}");
        let kubeconfig = kubeconfig::render(&url, &cluster.pki);
        Ok(Self {
            url,
            kubeconfig,
            cluster,
            shutdown,
            tasks,
        })
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The kubeconfig (YAML) with contexts `admin` and `viewer`.
    pub fn kubeconfig(&self) -> &str {
        &self.kubeconfig
    }

    /// Write the kubeconfig atomically (mode 0600).
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        write_private(path, self.kubeconfig.as_bytes())
    }

    pub fn admin_token(&self) -> &str {
        &self.cluster.pki.admin_token
    }

    /// The in-process state (for tests and the app's demo mode).
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// A kube-rs configuration for one of the kubeconfig's contexts (`admin` or `viewer`).
    pub async fn client_config(&self, context: &str) -> kube::Config {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&self.kubeconfig)
            .expect("simcluster writes a valid kubeconfig");
        let options = kube::config::KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .expect("simcluster's kubeconfig has both contexts")
    }

    /// A kube-rs client as `admin`.
    pub async fn client(&self) -> kube::Client {
        kube::Client::try_from(self.client_config("admin").await)
            .expect("a client from simcluster's own config")
    }

    /// Stop serving and wait for the state to be saved.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Write a file atomically (temp file in the same directory, fsync, rename, fsync of the
/// directory) with owner-only permissions (0600 on Unix, whatever mode an earlier file had).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = atomic_write_file::OpenOptions::new();
    #[cfg(unix)]
    {
        use atomic_write_file::unix::OpenOptionsExt as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600).preserve_mode(false);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.commit()
}
