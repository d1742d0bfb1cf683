//! The inventory at scale: simcluster with 10,000 VMs. The first snapshot holds every row; then
//! VMs are relabelled at 200 changes a second (the pace is the scenario, not a wait) and every
//! change reaches a reading subscriber in batches, while a subscriber that does not read holds at
//! most its queue's worth of updates and the process's memory stays bounded.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;
use support::{Rows, kubevirt, rss};
use vmdeck_console::inventory::{Inventory, RowKey, SUBSCRIBER_QUEUE, Scope, VmRow};
use vmdeck_console::kinds::vm_resource;

const VMS: usize = 10_000;
/// Changes driven: 5 s at 200 a second, over 500 VMs (each relabelled twice).
const CHANGES: usize = 1_000;
const RATE: u64 = 200;
const PATCHED: usize = 500;
const LABEL: &str = "vmdeck.io/scale-round";

/// Every patched row carries the label of its last round.
fn all_delivered(rows: &BTreeMap<RowKey, VmRow>, expected: &BTreeMap<RowKey, String>) -> bool {
    expected
        .iter()
        .all(|(key, round)| rows.get(key).and_then(|r| r.labels.get(LABEL)) == Some(round))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_vms_snapshot_then_a_steady_stream_of_changes() {
    let cluster = kubevirt(VMS).await;
    let client = cluster.client().await;
    let inventory = Inventory::start(client.clone(), Scope::All);
    let mut rows = Rows::new(inventory.subscribe().await.unwrap()).await;
    assert_eq!(rows.rows.len(), VMS, "the first snapshot holds every VM");
    // A subscriber that never reads while the changes flow.
    let idle = inventory.subscribe().await.unwrap();
    let baseline = rss();

    // Relabel every 20th row (500 of them), twice each, at 200 changes a second.
    let targets: Vec<RowKey> = rows.rows.keys().step_by(VMS / PATCHED).cloned().collect();
    assert_eq!(targets.len(), PATCHED);
    let mut expected = BTreeMap::new();
    let mut pace = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    let mut patches = tokio::task::JoinSet::new();
    for round in 0..CHANGES {
        pace.tick().await;
        let key = targets[round % PATCHED].clone();
        expected.insert(key.clone(), round.to_string());
        let vms: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &key.namespace, &vm_resource());
        patches.spawn(async move {
            let patch = json!({"metadata": {"labels": {LABEL: round.to_string()}}});
            vms.patch(&key.name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .map(|_| ())
                .map_err(|e| format!("patching {key:?}: {e}"))
        });
        // Read what has arrived meanwhile, without waiting for it.
        while let Some(Some(update)) = futures::FutureExt::now_or_never(rows.sub.next()) {
            rows.apply(update);
        }
    }
    while let Some(done) = patches.join_next().await {
        done.unwrap().unwrap();
    }
    // Patches of one VM are applied in order, so its last round is the one that stays.
    rows.until("every change delivered", |rows| {
        all_delivered(rows, &expected)
    })
    .await;
    assert_eq!(rows.rows.len(), VMS, "no row appeared or went");
    let batches = rows.updates - 1;
    println!(
        "{VMS} VMs: {CHANGES} changes to {PATCHED} rows arrived as {} row changes in {batches} batches \
         (largest {}); RSS {:.1} MiB after the snapshot, {:+.1} MiB after the changes",
        rows.changes,
        rows.largest_batch,
        baseline as f64 / 1048576.0,
        (rss() as f64 - baseline as f64) / 1048576.0,
    );
    assert!(
        batches * 4 <= CHANGES,
        "changes are batched, not sent one by one: {batches} batches for {CHANGES} changes"
    );
    assert!(
        rows.largest_batch <= PATCHED,
        "a batch holds one entry per row at most"
    );

    // The idle subscriber: at most its queue waits for it, then it catches up with the latest.
    assert!(
        idle.queued() <= SUBSCRIBER_QUEUE,
        "{} updates queued",
        idle.queued()
    );
    let mut idle = Rows::new(idle).await;
    idle.until("the idle subscriber catches up", |rows| {
        all_delivered(rows, &expected)
    })
    .await;
    assert!(
        idle.updates <= 1 + SUBSCRIBER_QUEUE + 2,
        "the idle subscriber got {} updates: what it missed was coalesced",
        idle.updates
    );
    let growth = rss().saturating_sub(baseline);
    assert!(
        growth < 96 << 20,
        "memory grew by {} MiB over {CHANGES} changes",
        growth >> 20
    );
}
