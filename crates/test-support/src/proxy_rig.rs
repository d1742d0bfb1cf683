//! Real proxies on loopback for the remote-access tests: Debian's `haproxy` in TCP mode routing
//! by TLS SNI (`req.ssl_sni`) to a backend with TLS passed through, standing in for the frp server
//! of the Spectro proxy and its tunnel (an unknown name is refused: the connection is closed), and
//! `tinyproxy` as the HTTP CONNECT forward proxy a laptop may need to get out (`proxy-url`).
//! Config files go in a folder the caller owns; processes are killed on drop; readiness is the
//! port accepting a connection, never a pause.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::eventually;

/// Where a Debian program is on PATH (or /usr/sbin), or a panic naming the package to install.
fn program(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin".into(), "/usr/bin".into()]);
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed: the proxy tests need Debian's {name} \
                 (scripts/test installs it; by hand: apt-get install {name})"
            )
        })
}

/// A free loopback port for a program that cannot be asked to pick one.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// Waits until `port` accepts; answers the probe connection's own address (so logs can leave it out).
async fn accepting(what: &str, port: u16) -> SocketAddr {
    let probe = eventually(what, async || {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
    })
    .await;
    probe.local_addr().expect("the probe's address")
}

/// haproxy routing TLS by SNI without terminating it.
pub struct Haproxy {
    _child: tokio::process::Child,
    port: u16,
    log: PathBuf,
    /// The readiness probe's address: its log line is not a client's.
    probe: SocketAddr,
    routes: Vec<String>,
}

impl Haproxy {
    /// Start haproxy on 127.0.0.1 (a free port) routing each `(server name, backend)`; any other
    /// name (or no SNI) is refused. Its config and log go in `dir`.
    pub async fn start(dir: &Path, routes: &[(&str, SocketAddr)]) -> Self {
        let port = free_port();
        let config = dir.join("haproxy.cfg");
        let log = dir.join("haproxy.log");
        let mut text = format!(
            "global\n  maxconn 256\n  log stdout format raw local0\n\
             defaults\n  mode tcp\n  log global\n  option tcplog\n  option logasap\n\
             \x20 timeout connect 5s\n  timeout client 10m\n  timeout server 10m\n  timeout tunnel 10m\n\
             frontend sni_router\n  bind 127.0.0.1:{port}\n  tcp-request inspect-delay 5s\n\
             \x20 tcp-request content accept if {{ req.ssl_hello_type 1 }}\n"
        );
        for (index, (name, _)) in routes.iter().enumerate() {
            writeln!(
                text,
                "  use_backend route_{index} if {{ req.ssl_sni -i {name} }}"
            )
            .unwrap();
        }
        text.push_str(
            "  default_backend unknown_cluster\n\
             backend unknown_cluster\n  tcp-request content reject\n",
        );
        for (index, (_, backend)) in routes.iter().enumerate() {
            writeln!(text, "backend route_{index}\n  server s{index} {backend}").unwrap();
        }
        std::fs::write(&config, text).expect("writing haproxy.cfg");
        let log_file = std::fs::File::create(&log).expect("creating haproxy.log");
        let child = tokio::process::Command::new(program("haproxy"))
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("haproxy starts");
        let probe = accepting("haproxy listening", port).await;
        Self {
            _child: child,
            port,
            log,
            probe,
            routes: routes.iter().map(|(name, _)| name.to_string()).collect(),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections routed to `name`'s backend so far (haproxy logs each as it starts).
    pub fn routed_to(&self, name: &str) -> usize {
        let Some(index) = self.routes.iter().position(|route| route == name) else {
            return 0;
        };
        self.count_lines(&format!(" route_{index}/s{index} "))
    }

    /// Connections refused as an unknown name so far.
    pub fn refused(&self) -> usize {
        self.count_lines(" unknown_cluster/")
    }

    fn count_lines(&self, needle: &str) -> usize {
        let probe = format!("{} ", self.probe);
        self.log_text()
            .lines()
            .filter(|line| !line.starts_with(&probe) && line.contains(needle))
            .count()
    }

    /// The log so far (for failure messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// tinyproxy: an HTTP CONNECT forward proxy, logging each request.
pub struct Tinyproxy {
    _child: tokio::process::Child,
    port: u16,
    log: PathBuf,
}

impl Tinyproxy {
    /// Start tinyproxy on 127.0.0.1 (a free port), config and log in `dir`.
    pub async fn start(dir: &Path) -> Self {
        let port = free_port();
        let config = dir.join("tinyproxy.conf");
        let log = dir.join("tinyproxy.log");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 600\nLogLevel Connect\nLogFile \"{}\"\n\
                 MaxClients 64\nAllow 127.0.0.1\nDisableViaHeader Yes\n",
                log.display()
            ),
        )
        .expect("writing tinyproxy.conf");
        let child = tokio::process::Command::new(program("tinyproxy"))
            .arg("-d")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("tinyproxy starts");
        accepting("tinyproxy listening", port).await;
        Self {
            _child: child,
            port,
            log,
        }
    }

    /// `http://127.0.0.1:PORT`, for a kubeconfig's `proxy-url`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// CONNECT requests to `authority` (`host:port`) seen so far.
    pub fn connects_to(&self, authority: &str) -> usize {
        self.log_text()
            .matches(&format!("CONNECT {authority} "))
            .count()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
