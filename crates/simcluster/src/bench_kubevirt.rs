//! `simcluster bench --kubevirt-scale`: a cluster started `--with-kubevirt --vms N`; times listing
//! every VM and every VMI, and checks that watchers keep up with a steady rate of VM status
//! changes. Prints figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::{Value, json};

/// Settings of the KubeVirt scale run.
#[derive(clap::Args, Clone)]
pub struct ScaleArgs {
    /// VMs to seed (about 3 in 4 run).
    #[arg(long, default_value_t = 10_000)]
    pub scale_vms: usize,
    /// Watchers of all VMs.
    #[arg(long, default_value_t = 5)]
    pub scale_watchers: usize,
    /// VM status changes per second.
    #[arg(long, default_value_t = 200)]
    pub scale_rate: u32,
    /// How long to keep changing VMs.
    #[arg(long, default_value_t = 5)]
    pub scale_seconds: u64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn vm_resource() -> ApiResource {
    ApiResource {
        group: "kubevirt.io".into(),
        version: "v1".into(),
        api_version: "kubevirt.io/v1".into(),
        kind: "VirtualMachine".into(),
        plural: "virtualmachines".into(),
    }
}

/// Median of 5 timed raw lists of `path`, and the item count.
async fn time_list(client: &kube::Client, path: &str) -> anyhow::Result<(Duration, usize)> {
    let mut samples = Vec::new();
    let mut count = 0;
    for i in 0..5 {
        let started = Instant::now();
        let text = client
            .request_text(http::Request::get(path).body(Vec::new())?)
            .await?;
        samples.push(started.elapsed());
        if i == 0 {
            let list: Value = serde_json::from_str(&text)?;
            count = list["items"].as_array().map_or(0, Vec::len);
        }
    }
    samples.sort();
    Ok((samples[samples.len() / 2], count))
}

pub async fn run(args: ScaleArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let cluster = simcluster::SimCluster::start(simcluster::Options {
        with_kubevirt: true,
        vms: args.scale_vms,
        ..Default::default()
    })
    .await
    .context("starting simcluster --with-kubevirt")?;
    println!(
        "simcluster bench --kubevirt-scale ({} cores): started with {} VMs in {:.1} s",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        args.scale_vms,
        started.elapsed().as_secs_f64()
    );
    let client = cluster.client().await;
    let (vm_list, vms) = time_list(&client, "/apis/kubevirt.io/v1/virtualmachines").await?;
    let (vmi_list, vmis) =
        time_list(&client, "/apis/kubevirt.io/v1/virtualmachineinstances").await?;
    println!(
        "list all VMs ({vms}): median {:.1} ms   [target < 300 ms]",
        ms(vm_list)
    );
    println!(
        "list all VMIs ({vmis}): median {:.1} ms   [target < 300 ms]",
        ms(vmi_list)
    );

    let api: Api<DynamicObject> = Api::all_with(client.clone(), &vm_resource());
    let names: Vec<(String, String)> = api
        .list(&Default::default())
        .await?
        .items
        .iter()
        .map(|vm| {
            (
                vm.metadata.namespace.clone().unwrap_or_default(),
                vm.metadata.name.clone().unwrap_or_default(),
            )
        })
        .collect();
    anyhow::ensure!(!names.is_empty(), "no VMs to change");
    let rv = cluster.cluster().store().current_rv().to_string();
    let total = args.scale_rate as usize * args.scale_seconds as usize;
    let epoch = Arc::new(Instant::now());
    let mut watchers = Vec::new();
    for _ in 0..args.scale_watchers {
        let api = api.clone();
        let rv = rv.clone();
        let epoch = epoch.clone();
        watchers.push(tokio::spawn(async move {
            let mut stream = api
                .watch(&WatchParams::default().timeout(290), &rv)
                .await?
                .boxed();
            let mut latencies = Vec::with_capacity(total);
            while latencies.len() < total {
                match stream.try_next().await? {
                    Some(WatchEvent::Modified(vm)) => {
                        let value = serde_json::to_value(&vm)?;
                        if let Some(sent) = value
                            .pointer("/status/volumeSnapshotStatuses/0/reason")
                            .and_then(Value::as_str)
                            .and_then(|r| r.strip_prefix("bench sent at "))
                            .and_then(|s| s.parse::<f64>().ok())
                        {
                            latencies.push(epoch.elapsed().as_secs_f64() - sent);
                        }
                    }
                    Some(_) => {}
                    None => anyhow::bail!("watch ended after {} events", latencies.len()),
                }
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ticker =
        tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.scale_rate)));
    let writes_started = Instant::now();
    let mut writes = Vec::with_capacity(total);
    for n in 0..total {
        ticker.tick().await;
        let (ns, name) = names[n % names.len()].clone();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &vm_resource());
        let epoch = epoch.clone();
        writes.push(tokio::spawn(async move {
            let patch = json!({"status": {"volumeSnapshotStatuses": [{"name": "rootdisk", "enabled": n % 2 == 0,
                "reason": format!("bench sent at {:.6}", epoch.elapsed().as_secs_f64())}]}});
            api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.map(|_| ())
        }));
    }
    for write in writes {
        write.await??;
    }
    let write_rate = total as f64 / writes_started.elapsed().as_secs_f64();
    let mut all = Vec::new();
    for watcher in watchers {
        let latencies = tokio::time::timeout(Duration::from_secs(30), watcher)
            .await
            .context("a watcher fell behind (did not see every change within 30 s)")???;
        all.extend(latencies);
    }
    let delivered_for = writes_started.elapsed();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let p = |q: f64| all[((all.len() - 1) as f64 * q) as usize] * 1000.0;
    println!(
        "watch: {total} VM status changes at {write_rate:.0}/s to {} watchers: {} events delivered in {:.2} s, latency p50 {:.2} ms p99 {:.2} ms max {:.2} ms   [target: keep up with 200/s]",
        args.scale_watchers,
        all.len(),
        delivered_for.as_secs_f64(),
        p(0.5),
        p(0.99),
        p(1.0)
    );
    println!(
        "{}",
        json!({"vms": vms, "vmis": vmis, "list_vms_ms": ms(vm_list), "list_vmis_ms": ms(vmi_list),
            "watch_rate_per_s": write_rate, "watchers": args.scale_watchers, "watch_p99_ms": p(0.99), "watch_max_ms": p(1.0)})
    );
    cluster.shutdown().await;
    Ok(())
}
