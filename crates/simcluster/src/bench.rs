//! `simcluster bench`: list latency over many ConfigMaps, server-side apply throughput and watch
//! fan-out, measured through kube-rs against an in-process simcluster. Prints figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// ConfigMaps to create before timing the list.
    #[arg(long, default_value_t = 10_000)]
    configmaps: usize,
    /// Server-side applies to time.
    #[arg(long, default_value_t = 6_000)]
    applies: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Watchers for the fan-out measurement.
    #[arg(long, default_value_t = 10)]
    watchers: usize,
    /// Changes each watcher must see.
    #[arg(long, default_value_t = 2_000)]
    watch_events: usize,
    /// Small sizes, for a smoke run in CI.
    #[arg(long)]
    quick: bool,
    /// Instead: KubeVirt at scale (`--with-kubevirt --vms N`): list all VMs and VMIs, watch fan-out.
    #[arg(long)]
    kubevirt_scale: bool,
    #[command(flatten)]
    scale: crate::bench_kubevirt::ScaleArgs,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub async fn run(mut args: BenchArgs) -> anyhow::Result<()> {
    if args.kubevirt_scale {
        if args.quick {
            args.scale.scale_vms = args.scale.scale_vms.min(1_000);
            args.scale.scale_seconds = args.scale.scale_seconds.min(2);
        }
        return crate::bench_kubevirt::run(args.scale).await;
    }
    if args.quick {
        args.configmaps = args.configmaps.min(1_000);
        args.applies = args.applies.min(1_000);
        args.watch_events = args.watch_events.min(200);
    }
    let options = simcluster::Options {
        bare: true,
        nodes: 1,
        ..Default::default()
    };
    let cluster = simcluster::SimCluster::start(options)
        .await
        .context("starting simcluster")?;
    let client = cluster.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in ["bench-list", "bench-apply", "bench-watch"] {
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
            )
            .await?;
    }
    println!(
        "simcluster bench ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // 1. List latency.
    let list_api: Api<ConfigMap> = Api::namespaced(client.clone(), "bench-list");
    let started = Instant::now();
    stream::iter(0..args.configmaps)
        .map(|i| {
            let api = list_api.clone();
            async move {
                let cm: ConfigMap = serde_json::from_value(
                    json!({"metadata": {"name": format!("cm-{i:05}"), "labels": {"bench": "list"}},
                    "data": {"index": i.to_string(), "payload": "x".repeat(64)}}),
                )?;
                api.create(&PostParams::default(), &cm)
                    .await
                    .map(|_| ())
                    .map_err(anyhow::Error::from)
            }
        })
        .buffer_unordered(args.concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    let create_rate = args.configmaps as f64 / started.elapsed().as_secs_f64();
    let mut typed = Vec::new();
    let mut raw = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let list = list_api.list(&ListParams::default()).await?;
        typed.push(t.elapsed());
        anyhow::ensure!(
            list.items.len() == args.configmaps,
            "listed {} of {}",
            list.items.len(),
            args.configmaps
        );
        let t = Instant::now();
        let request =
            http::Request::get("/api/v1/namespaces/bench-list/configmaps").body(Vec::new())?;
        let text = client.request_text(request).await?;
        raw.push(t.elapsed());
        anyhow::ensure!(text.len() > args.configmaps * 64, "raw list too short");
    }
    println!(
        "list {} ConfigMaps: median {:.1} ms (HTTP + JSON bytes), {:.1} ms (kube-rs typed)   [target < 150 ms]",
        args.configmaps,
        ms(median(raw.clone())),
        ms(median(typed.clone()))
    );
    println!(
        "create ConfigMaps: {create_rate:.0}/s at concurrency {}",
        args.concurrency
    );

    // 2. Server-side apply throughput (half creates, half updates of the same objects).
    let apply_api: Api<ConfigMap> = Api::namespaced(client.clone(), "bench-apply");
    let distinct = (args.applies / 2).max(1);
    let started = Instant::now();
    stream::iter(0..args.applies)
        .map(|i| {
            let api = apply_api.clone();
            async move {
                let name = format!("ssa-{:05}", i % distinct);
                let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"round": (i / distinct).to_string()}},
                    "data": {"value": i.to_string()}});
                api.patch(&name, &PatchParams::apply("bench").force(), &Patch::Apply(&body)).await.map(|_| ()).map_err(anyhow::Error::from)
            }
        })
        .buffer_unordered(args.concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    let apply_rate = args.applies as f64 / started.elapsed().as_secs_f64();
    println!(
        "server-side apply: {apply_rate:.0} applies/s ({} applies, concurrency {})   [target >= 2000/s]",
        args.applies, args.concurrency
    );

    // 3. Watch fan-out.
    let watch_api: Api<ConfigMap> = Api::namespaced(client.clone(), "bench-watch");
    watch_api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "ticker"}, "data": {"n": "0"}}))?,
        )
        .await?;
    let rv = watch_api
        .get("ticker")
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let epoch = Arc::new(Instant::now());
    let mut watchers = Vec::new();
    for _ in 0..args.watchers {
        let api = watch_api.clone();
        let rv = rv.clone();
        let epoch = epoch.clone();
        let expected = args.watch_events;
        watchers.push(tokio::spawn(async move {
            let mut stream = api
                .watch(&WatchParams::default().timeout(290), &rv)
                .await?
                .boxed();
            let mut latencies = Vec::with_capacity(expected);
            while latencies.len() < expected {
                match stream.try_next().await? {
                    Some(WatchEvent::Modified(cm)) => {
                        let sent: f64 = cm
                            .data
                            .and_then(|d| d.get("sent").and_then(|s| s.parse().ok()))
                            .unwrap_or(0.0);
                        latencies.push(epoch.elapsed().as_secs_f64() - sent);
                    }
                    Some(_) => {}
                    None => anyhow::bail!("watch ended after {} events", latencies.len()),
                }
            }
            Ok::<_, anyhow::Error>((latencies, epoch.elapsed()))
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = epoch.elapsed();
    for n in 1..=args.watch_events {
        let patch = json!({"data": {"n": n.to_string(), "sent": format!("{:.6}", epoch.elapsed().as_secs_f64())}});
        watch_api
            .patch("ticker", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    let writes_done = epoch.elapsed();
    let mut all = Vec::new();
    let mut last = Duration::ZERO;
    for watcher in watchers {
        let (latencies, finished) = watcher.await??;
        all.extend(latencies);
        last = last.max(finished);
    }
    all.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let p = |q: f64| all[((all.len() - 1) as f64 * q) as usize] * 1000.0;
    let write_rate = args.watch_events as f64 / (writes_done - started).as_secs_f64();
    let delivered = all.len() as f64 / (last - started).as_secs_f64();
    println!(
        "watch fan-out to {} watchers: {} changes at {write_rate:.0}/s, {delivered:.0} events/s delivered, latency p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
        args.watchers,
        args.watch_events,
        p(0.5),
        p(0.99),
        p(1.0)
    );
    println!(
        "{}",
        json!({"list_ms": ms(median(raw)), "list_typed_ms": ms(median(typed)), "creates_per_s": create_rate, "applies_per_s": apply_rate,
            "watch_events_per_s": delivered, "watch_p99_ms": p(0.99)})
    );
    cluster.shutdown().await;
    Ok(())
}
