//! VMs and consoles, the engine: the VM inventory (VMs and VMIs watched and joined into rows),
//! power actions and RBAC through `subresources.kubevirt.io`, and the console gateway (a
//! loopback websocket server bridging a webview to a VMI's `vnc` and `console` subresources).
//!
//! No Tauri here: desktop-core, `vmdeckctl` and tests use it with a `kube::Client`.

pub mod access;
pub mod actions;
pub mod gateway;
pub mod inventory;
pub mod kinds;
pub mod pump;
pub mod upstream;

pub use actions::{ActionError, PowerAction};
pub use gateway::{Gateway, GatewayConfig, Ticket};
pub use inventory::{Inventory, RowChange, Update, VmRow};
pub use upstream::{ConsoleKind, ConsoleTarget, DialError};
