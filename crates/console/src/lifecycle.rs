//! Why a console ended, told by watching its VMI (a kube-runtime watcher on the one object):
//! stopped, restarted (a new VMI of the same name), migrated (another node), taken over by
//! another session (the VMI runs on, unchanged, yet the console closed) or network lost (the
//! cluster cannot be reached). A restart and a stop both delete the VMI; the VM, read once the
//! deletion is seen, tells them apart (a pending Start request, or a run strategy that recreates).

use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::kinds::{vm_resource, vmi_resource};

/// Why a console was closed: each with its close code (application range) and words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    TakenOver,
    VmStopped,
    VmRestarted,
    VmMigrated,
    NetworkLost,
}

impl CloseReason {
    pub const ALL: [CloseReason; 5] = [
        Self::TakenOver,
        Self::VmStopped,
        Self::VmRestarted,
        Self::VmMigrated,
        Self::NetworkLost,
    ];

    pub fn code(self) -> u16 {
        match self {
            Self::TakenOver => 4001,
            Self::VmStopped => 4002,
            Self::VmRestarted => 4003,
            Self::VmMigrated => 4004,
            Self::NetworkLost => 4005,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Self::TakenOver => "taken over by another session",
            Self::VmStopped => "VM stopped",
            Self::VmRestarted => "VM restarted",
            Self::VmMigrated => "VM migrated",
            Self::NetworkLost => "network lost",
        }
    }

    pub fn frame(self) -> CloseFrame {
        CloseFrame {
            code: CloseCode::Library(self.code()),
            reason: self.reason().into(),
        }
    }

    /// The reason a close frame of ours carries.
    pub fn of_frame(frame: &CloseFrame) -> Option<Self> {
        let code = u16::from(frame.code);
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// What a console's life depends on, from one VMI.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VmiFacts {
    pub uid: String,
    pub phase: String,
    pub node: Option<String>,
    pub deleting: bool,
}

impl VmiFacts {
    pub fn of(vmi: &Value) -> Self {
        let text = |pointer: &str| vmi.pointer(pointer).and_then(Value::as_str);
        Self {
            uid: text("/metadata/uid").unwrap_or("").to_string(),
            phase: text("/status/phase").unwrap_or("").to_string(),
            node: text("/status/nodeName").map(str::to_string),
            deleting: vmi.pointer("/metadata/deletionTimestamp").is_some(),
        }
    }

    /// Runs (a console can be opened).
    pub fn running(&self) -> bool {
        self.phase == "Running" && !self.deleting
    }

    fn going_down(&self) -> bool {
        self.deleting || matches!(self.phase.as_str(), "Succeeded" | "Failed")
    }
}

/// The watched VMI: `None` until the first list, then the VMI (or its absence).
pub type Observed = Option<Option<VmiFacts>>;

/// What changed since a console was opened on `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmiChange {
    /// Another VMI of the same name: the VM was restarted.
    Replaced,
    /// The same VMI on another node.
    Migrated,
    /// The VMI is gone, finishing or being deleted.
    Down,
}

/// The change that ends a console opened on `start`, if any.
pub fn vmi_change(start: &VmiFacts, now: &Observed) -> Option<VmiChange> {
    let now = now.as_ref()?;
    match now {
        None => Some(VmiChange::Down),
        Some(vmi) if vmi.uid != start.uid => Some(VmiChange::Replaced),
        Some(vmi) if vmi.going_down() => Some(VmiChange::Down),
        Some(vmi) if vmi.node.is_some() && vmi.node != start.node => Some(VmiChange::Migrated),
        Some(_) => None,
    }
}

/// A VMI going down: a restart when the VM will start it again (a Start request pending, or a
/// run strategy that recreates it), else a stop.
pub fn down_reason(vm: Option<&Value>) -> CloseReason {
    let Some(vm) = vm else {
        return CloseReason::VmStopped;
    };
    if vm.pointer("/metadata/deletionTimestamp").is_some() {
        return CloseReason::VmStopped;
    }
    let start_pending = vm
        .pointer("/status/stateChangeRequests")
        .and_then(Value::as_array)
        .is_some_and(|requests| requests.iter().any(|r| r["action"] == "Start"));
    if start_pending {
        return CloseReason::VmRestarted;
    }
    let strategy = match vm.pointer("/spec/running").and_then(Value::as_bool) {
        Some(true) => "Always",
        Some(false) => "Halted",
        None => vm
            .pointer("/spec/runStrategy")
            .and_then(Value::as_str)
            .unwrap_or("Halted"),
    };
    match strategy {
        "Always" | "RerunOnFailure" => CloseReason::VmRestarted,
        _ => CloseReason::VmStopped,
    }
}

/// A watch on one VMI; dropping it stops the watch.
pub struct VmiWatch {
    client: kube::Client,
    namespace: String,
    name: String,
    observed: watch::Receiver<Observed>,
    /// Turns true when the watch failed before its first list (not allowed, not served, ...).
    failed: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl Drop for VmiWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl VmiWatch {
    /// Watch the VMI `namespace/name`.
    pub fn start(client: kube::Client, namespace: &str, name: &str) -> Self {
        let (tx, observed) = watch::channel(None);
        let (failing, failed) = watch::channel(false);
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &vmi_resource());
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let task = tokio::spawn(async move {
            let mut events = std::pin::pin!(watcher::watcher(api, config).default_backoff());
            let mut listing: Option<VmiFacts> = None;
            while let Some(event) = events.next().await {
                let facts = |object: DynamicObject| {
                    serde_json::to_value(object).ok().map(|v| VmiFacts::of(&v))
                };
                match event {
                    Ok(Event::Init) => listing = None,
                    Ok(Event::InitApply(object)) => listing = facts(object),
                    Ok(Event::InitDone) => {
                        tx.send_replace(Some(listing.take()));
                    }
                    Ok(Event::Apply(object)) => {
                        tx.send_replace(Some(facts(object)));
                    }
                    Ok(Event::Delete(_)) => {
                        tx.send_replace(Some(None));
                    }
                    Err(error) => {
                        tracing::debug!("VMI watch: {error}");
                        if tx.borrow().is_none() {
                            failing.send_replace(true);
                        }
                    }
                }
            }
        });
        Self {
            client,
            namespace: namespace.to_string(),
            name: name.to_string(),
            observed,
            failed,
            task,
        }
    }

    /// The VMI as first listed (waiting at most `within`); `None` when it cannot be watched
    /// (the watch failed before listing) or is not there.
    pub async fn first(&mut self, within: Duration) -> Option<VmiFacts> {
        let mut failed = self.failed.clone();
        let listed = tokio::time::timeout(within, async {
            tokio::select! {
                listed = self.observed.wait_for(Option::is_some) => {
                    listed.ok().and_then(|observed| observed.clone().flatten())
                }
                _ = failed.wait_for(|failed| *failed) => None,
            }
        })
        .await;
        listed.ok().flatten()
    }

    async fn vm(&self) -> Result<Option<Value>, kube::Error> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.namespace, &vm_resource());
        Ok(api
            .get_opt(&self.name)
            .await?
            .and_then(|vm| serde_json::to_value(vm).ok()))
    }

    async fn reason_of(&self, change: VmiChange) -> CloseReason {
        match change {
            VmiChange::Replaced => CloseReason::VmRestarted,
            VmiChange::Migrated => CloseReason::VmMigrated,
            VmiChange::Down => match self.vm().await {
                Ok(vm) => down_reason(vm.as_ref()),
                Err(kube::Error::Api(_)) => CloseReason::VmStopped,
                Err(_) => CloseReason::NetworkLost,
            },
        }
    }

    /// Resolves when the VMI's life ends the console opened on `start` (never, if it runs on).
    pub async fn ended(&mut self, start: &VmiFacts) -> CloseReason {
        let change = match self
            .observed
            .wait_for(|now| vmi_change(start, now).is_some())
            .await
        {
            Ok(now) => vmi_change(start, &now),
            Err(_) => None,
        };
        match change {
            Some(change) => self.reason_of(change).await,
            None => std::future::pending().await,
        }
    }

    /// The console closed on its own: why. A VMI change seen within `grace` names it; else the
    /// VMI is read: still there and unchanged means another session took the console over, an
    /// unreachable cluster means the network was lost.
    pub async fn explain(&mut self, start: &VmiFacts, grace: Duration) -> CloseReason {
        if let Ok(reason) = tokio::time::timeout(grace, self.ended(start)).await {
            return reason;
        }
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.namespace, &vmi_resource());
        match api.get_opt(&self.name).await {
            Ok(Some(vmi)) => {
                let now = serde_json::to_value(vmi).map(|v| VmiFacts::of(&v)).ok();
                match vmi_change(start, &Some(now)) {
                    Some(change) => self.reason_of(change).await,
                    None => CloseReason::TakenOver,
                }
            }
            Ok(None) => self.reason_of(VmiChange::Down).await,
            Err(kube::Error::Api(_)) => CloseReason::TakenOver,
            Err(_) => CloseReason::NetworkLost,
        }
    }

    /// Wait until a VMI other than `start` (restarted, or migrated elsewhere) runs; `Err` when
    /// the VM was stopped meanwhile.
    pub async fn running_again(&mut self, start: &VmiFacts) -> Result<VmiFacts, CloseReason> {
        loop {
            let now = match self
                .observed
                .wait_for(|now| match now {
                    Some(Some(vmi)) => {
                        vmi.running() && (vmi.uid != start.uid || vmi.node != start.node)
                    }
                    Some(None) => true,
                    None => false,
                })
                .await
            {
                Ok(now) => now.clone().flatten(),
                Err(_) => return Err(CloseReason::VmStopped),
            };
            match now {
                Some(vmi) => return Ok(vmi),
                // Gone: a restart brings a new one; a stop does not.
                None => {
                    if self.reason_of(VmiChange::Down).await != CloseReason::VmRestarted {
                        return Err(CloseReason::VmStopped);
                    }
                    let _ = self
                        .observed
                        .wait_for(|now| !matches!(now, Some(None)))
                        .await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(uid: &str, phase: &str, node: &str) -> VmiFacts {
        VmiFacts {
            uid: uid.into(),
            phase: phase.into(),
            node: Some(node.into()),
            deleting: false,
        }
    }

    #[test]
    fn changes_of_the_vmi() {
        let start = facts("a", "Running", "node-1");
        assert_eq!(vmi_change(&start, &None), None, "not listed yet");
        assert_eq!(vmi_change(&start, &Some(Some(start.clone()))), None);
        assert_eq!(vmi_change(&start, &Some(None)), Some(VmiChange::Down));
        let deleting = VmiFacts {
            deleting: true,
            ..start.clone()
        };
        assert_eq!(
            vmi_change(&start, &Some(Some(deleting))),
            Some(VmiChange::Down)
        );
        assert_eq!(
            vmi_change(&start, &Some(Some(facts("a", "Succeeded", "node-1")))),
            Some(VmiChange::Down)
        );
        assert_eq!(
            vmi_change(&start, &Some(Some(facts("b", "Scheduling", "node-1")))),
            Some(VmiChange::Replaced)
        );
        assert_eq!(
            vmi_change(&start, &Some(Some(facts("a", "Running", "node-2")))),
            Some(VmiChange::Migrated)
        );
    }

    #[test]
    fn a_stop_and_a_restart_are_told_apart_by_the_vm() {
        assert_eq!(down_reason(None), CloseReason::VmStopped);
        let vm = |strategy: &str, requests: Value| json!({"spec": {"runStrategy": strategy}, "status": {"stateChangeRequests": requests}});
        assert_eq!(
            down_reason(Some(&vm("Halted", json!(null)))),
            CloseReason::VmStopped
        );
        assert_eq!(
            down_reason(Some(&vm("Manual", json!([{"action": "Stop", "uid": "a"}])))),
            CloseReason::VmStopped
        );
        assert_eq!(
            down_reason(Some(&vm(
                "Manual",
                json!([{"action": "Stop", "uid": "a"}, {"action": "Start"}])
            ))),
            CloseReason::VmRestarted
        );
        assert_eq!(
            down_reason(Some(&vm("Always", json!(null)))),
            CloseReason::VmRestarted
        );
        assert_eq!(
            down_reason(Some(&json!({"spec": {"running": false}}))),
            CloseReason::VmStopped
        );
    }

    #[test]
    fn reasons_travel_in_close_frames() {
        for reason in CloseReason::ALL {
            assert_eq!(CloseReason::of_frame(&reason.frame()), Some(reason));
        }
        assert_eq!(CloseReason::VmStopped.frame().reason, "VM stopped");
        assert_eq!(
            CloseReason::of_frame(&CloseFrame {
                code: CloseCode::Normal,
                reason: "".into()
            }),
            None
        );
    }
}
