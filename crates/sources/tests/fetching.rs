//! Fetching from a mirror folder, a local HTTP server, the cache, and trust-on-first-use with the lock file.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use vmdeck_packs::{
    Catalog, ProfileRequest, UpstreamSource, plan_sources, profile_from_preset, render,
};
use vmdeck_sources::{Mirror, Progress, SourceError, SourceStore};

fn mirror_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target)
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A tiny HTTP/1.1 server on 127.0.0.1 serving files from `root`; counts requests; stops after `max` requests.
fn serve(root: PathBuf, max: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap() == 0 || header == "\r\n" {
                    break;
                }
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/')
                .to_string();
            match std::fs::read(root.join(&path)) {
                Ok(body) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(&body);
                }
                Err(_) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                }
            }
        }
    });
    (base, count)
}

fn operator_source() -> UpstreamSource {
    let catalog = Catalog::embedded().unwrap();
    let pack = catalog.get("kubevirt").unwrap();
    pack.manifest.version("1.8.4").unwrap().sources[0].clone()
}

#[tokio::test]
async fn corrupted_mirror_file_fails_naming_url_expected_and_actual() {
    let temp = tempfile::tempdir().unwrap();
    copy_dir(&mirror_root(), temp.path());
    let source = operator_source();
    let file = temp.path().join(&source.mirror);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[1000] ^= 0x20;
    std::fs::write(&file, &bytes).unwrap();

    let store = SourceStore::new(temp.path().join("vmdeck.lock"))
        .with_mirror(Mirror::Dir(temp.path().to_path_buf()));
    let error = store.fetch(&source, &mut |_| {}).await.unwrap_err();
    assert_eq!(error.code(), "digest_mismatch");
    let text = error.to_string();
    assert!(text.contains(&source.url), "{text}");
    assert!(text.contains(source.sha256.as_deref().unwrap()), "{text}");
    assert!(text.contains(&vmdeck_packs::sha256_hex(&bytes)), "{text}");
}

#[tokio::test]
async fn both_presets_render_from_the_mirror_folder() {
    let catalog = Catalog::embedded().unwrap();
    for preset in ["vm-dashboard-proxied", "vm-dashboard-direct"] {
        let mut request = ProfileRequest {
            preset: preset.into(),
            ..Default::default()
        };
        request.values.insert(
            "spectro-proxy.server.address".into(),
            "proxy.example.com".into(),
        );
        request
            .values
            .insert("spectro-proxy.clusterId".into(), "abc".into());
        if preset.ends_with("direct") {
            request.values.clear();
        }
        let profile = profile_from_preset(&catalog, &request).unwrap();
        let temp = tempfile::tempdir().unwrap();
        let store = SourceStore::new(temp.path().join("lock"))
            .with_mirror(Mirror::parse(mirror_root().to_str().unwrap()));
        let plan = plan_sources(&catalog, &profile).unwrap();
        let fetched = store.fetch_all(&plan, &mut |_| {}).await.unwrap();
        let mut secrets = vmdeck_packs::Secrets::new();
        secrets
            .entry("spectro-proxy".into())
            .or_default()
            .insert("token".into(), "t".into());
        let rendered = render(&catalog, &profile, &secrets, &fetched).unwrap();
        assert!(
            rendered.objects.len() > 40,
            "{preset}: {}",
            rendered.objects.len()
        );
    }
}

#[tokio::test]
async fn http_mirror_with_progress_then_cache() {
    let (base, requests) = serve(mirror_root(), 1);
    let temp = tempfile::tempdir().unwrap();
    let source = operator_source();
    let store = SourceStore::new(temp.path().join("lock"))
        .with_mirror(Mirror::parse(&base))
        .with_cache_dir(temp.path().join("cache"));
    let mut events: Vec<Progress> = Vec::new();
    let bytes = store.fetch(&source, &mut |p| events.push(p)).await.unwrap();
    assert_eq!(Some(vmdeck_packs::sha256_hex(&bytes)), source.sha256);
    assert_eq!(requests.load(Ordering::SeqCst), 1);
    let last = events.last().unwrap();
    assert_eq!((last.done, last.total), (490554, Some(490554)));
    assert!(
        events.windows(2).all(|w| w[0].done <= w[1].done),
        "progress only grows"
    );
    assert!(events.iter().all(|p| p.url == source.url));
    // The cache (keyed by sha256) answers now; the server would refuse a second connection.
    assert!(
        temp.path()
            .join("cache/sha256")
            .join(source.sha256.as_deref().unwrap())
            .is_file()
    );
    let again = store.fetch(&source, &mut |_| {}).await.unwrap();
    assert_eq!(again, bytes);
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn http_errors_name_the_location() {
    let (base, _) = serve(mirror_root(), 1);
    let temp = tempfile::tempdir().unwrap();
    let mut source = operator_source();
    source.mirror = "kubevirt/v0.0.0/missing.yaml".into();
    let store = SourceStore::new(temp.path().join("lock")).with_mirror(Mirror::parse(&base));
    let error = store.fetch(&source, &mut |_| {}).await.unwrap_err();
    assert_eq!(error.code(), "download_failed");
    assert!(error.to_string().contains("missing.yaml"), "{error}");
}

#[tokio::test]
async fn unpinned_source_needs_trust_on_first_use_and_is_then_locked() {
    let (base, _) = serve(mirror_root(), 2);
    let temp = tempfile::tempdir().unwrap();
    let lock = temp.path().join("state/vmdeck.lock");
    let source = UpstreamSource {
        name: "frpc-minimal".into(),
        url: "https://raw.githubusercontent.com/fatedier/frp/v0.70.1/conf/frpc.toml".into(),
        sha256: None,
        mirror: "frp/v0.70.1/frpc.toml".into(),
        when: None,
        patches: vec![],
    };
    let refusing = SourceStore::new(&lock).with_mirror(Mirror::parse(&base));
    let error = refusing.fetch(&source, &mut |_| {}).await.unwrap_err();
    assert!(matches!(error, SourceError::Unpinned { .. }), "{error}");
    assert!(!lock.exists(), "nothing written without confirmation");

    let trusting = refusing.clone().trust_on_first_use(true);
    let bytes = trusting.fetch(&source, &mut |_| {}).await.unwrap();
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(
        text.contains(&source.url)
            && text.contains("479cfb36746fac97ba24324fe2b79b86b8b927970867725d236bf6f8fa14a29f"),
        "{text}"
    );
    assert_eq!(
        vmdeck_packs::sha256_hex(&bytes),
        "479cfb36746fac97ba24324fe2b79b86b8b927970867725d236bf6f8fa14a29f"
    );

    // Once locked, the pin holds: a changed file (served from a different mirror) is refused.
    let changed = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(changed.path().join("frp/v0.70.1")).unwrap();
    std::fs::write(
        changed.path().join("frp/v0.70.1/frpc.toml"),
        b"serverAddr = \"evil\"\n",
    )
    .unwrap();
    let locked = SourceStore::new(&lock)
        .with_mirror(Mirror::Dir(changed.path().to_path_buf()))
        .trust_on_first_use(true);
    let error = locked.fetch(&source, &mut |_| {}).await.unwrap_err();
    assert_eq!(error.code(), "digest_mismatch");
}

#[test]
fn user_pack_folders_are_read() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(temp.path().join("extra/templates")).unwrap();
    std::fs::write(temp.path().join("extra/pack.yaml"), "name: extra\ndisplayName: Extra\ndescription: d\ncategory: misc\ndefaultVersion: 1.0.0\nversions: [{version: 1.0.0}]\ntemplates: [{file: templates/cm.yaml.j2}]\n").unwrap();
    std::fs::write(
        temp.path().join("extra/templates/cm.yaml.j2"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n",
    )
    .unwrap();
    std::fs::create_dir_all(temp.path().join("not-a-pack")).unwrap();
    let folders = vmdeck_sources::read_pack_folders(temp.path()).unwrap();
    assert_eq!(folders.len(), 1);
    assert!(folders[0].files.contains_key("templates/cm.yaml.j2"));
    let catalog = Catalog::embedded()
        .unwrap()
        .with_user_packs(&folders)
        .unwrap();
    assert_eq!(
        catalog.get("extra").unwrap().origin,
        vmdeck_packs::PackOrigin::User
    );
    assert!(
        vmdeck_sources::read_pack_folders(&temp.path().join("missing"))
            .unwrap()
            .is_empty()
    );
}
