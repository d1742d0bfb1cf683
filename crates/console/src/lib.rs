//! VMs and consoles, the engine: the VM inventory (VMs and VMIs watched and joined into rows),
//! power actions and RBAC through `subresources.kubevirt.io`, and the console gateway (a
//! loopback websocket server bridging a webview to a VMI's `vnc` and `console` subresources),
//! the native VNC viewer hand-off (a loopback TCP proxy), terminals bridged to a serial console,
//! and screenshots.
//!
//! No Tauri here: desktop-core, `vmdeckctl` and tests use it with a `kube::Client`.

pub mod access;
pub mod actions;
pub mod dashboard;
pub mod gateway;
pub mod inventory;
pub mod iobridge;
pub mod keymap;
pub mod kinds;
pub mod lifecycle;
pub mod pump;
pub mod screenshot;
pub mod upstream;
pub mod viewer;

pub use actions::{ActionError, PowerAction};
pub use gateway::{Gateway, GatewayConfig, Ticket};
pub use inventory::{Inventory, RowChange, Update, VmRow};
pub use screenshot::{ScreenshotError, screenshot};
pub use upstream::{ConsoleKind, ConsoleTarget, DialError};
pub use viewer::{VncProxy, find_viewer};
