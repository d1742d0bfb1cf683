//! `vmdeckctl profile ...`: create a profile from a preset, validate a profile file, render it to objects.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use vmdeck_packs::{
    GateChoice, Profile, ProfileError, ProfileRequest, Secrets, plan_sources, profile_from_preset,
    render, validate,
};
use vmdeck_sources::{Mirror, SourceStore};

use crate::catalog_args::CatalogArgs;
use crate::output_format::emit;

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// Print a new profile for a preset.
    Init {
        #[arg(long)]
        preset: String,
        /// Pack version, e.g. kubevirt=1.9.0 (repeatable).
        #[arg(long = "version", value_name = "PACK=VERSION", value_parser = parse_pair)]
        versions: Vec<(String, String)>,
        /// Feature gate choice, e.g. Snapshot=off or kubevirt/HostDisk=on (repeatable).
        #[arg(long = "gate", value_name = "NAME=on|off", value_parser = parse_gate)]
        gates: Vec<(String, GateChoice)>,
        /// A value, e.g. spectro-proxy.server.address=proxy.example.com (repeatable; never a secret).
        #[arg(long = "set", value_name = "PACK.KEY=VALUE", value_parser = parse_pair)]
        values: Vec<(String, String)>,
    },
    /// Check a profile file against the catalog; prints every problem with its path and line.
    Validate { file: PathBuf },
    /// Render a profile to the objects to apply.
    Render {
        #[command(flatten)]
        source: RenderArgs,
        /// `summary` lists the objects; `yaml` prints them (with origin comments; Secret data redacted).
        #[arg(short, long, value_enum, default_value_t = RenderOutput::Summary)]
        output: RenderOutput,
        /// Print Secret data in `-o yaml` instead of redacting it.
        #[arg(long)]
        show_secrets: bool,
    },
}

/// A profile file and what rendering it needs.
#[derive(clap::Args)]
pub struct RenderArgs {
    /// The profile file.
    pub file: PathBuf,
    #[command(flatten)]
    pub sources: SourceArgs,
}

/// What rendering a profile needs besides the profile: where upstream files come from, and secrets.
#[derive(clap::Args)]
pub struct SourceArgs {
    /// Mirror of the upstream files: a folder laid out <component>/<version>/<file>, or a base URL.
    #[arg(long, value_name = "DIR_OR_URL")]
    pub mirror: Option<String>,
    /// A secret value: PACK.KEY=env:VARIABLE or PACK.KEY=file:PATH (repeatable).
    #[arg(long = "secret", value_name = "PACK.KEY=env:NAME|file:PATH", value_parser = parse_pair)]
    pub secrets: Vec<(String, String)>,
    /// Download cache (default: $XDG_CACHE_HOME/vmdeck/sources).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Lock file for sources without a pin (default: FILE.lock beside the profile).
    #[arg(long, value_name = "FILE")]
    pub lock_file: Option<PathBuf>,
    /// Download sources that have no sha256 pin and record their digest in the lock file.
    #[arg(long)]
    pub trust_on_first_use: bool,
}

/// Reads, validates and renders the profile (fetching its upstream files); `None` when the profile
/// has problems, which are printed with their paths and lines.
pub fn render_file(
    catalog: &vmdeck_packs::Catalog,
    args: &RenderArgs,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Option<(Profile, vmdeck_packs::Rendered)>> {
    let text = read(&args.file)?;
    let profile = match Profile::from_yaml(&text)
        .and_then(|p| validate(catalog, &p, Some(&text)).map(|_| p))
    {
        Ok(profile) => profile,
        Err(error) => {
            print_issues(Some(&args.file), &error);
            return Ok(None);
        }
    };
    let lock = PathBuf::from(format!("{}.lock", args.file.display()));
    let rendered = render_profile(catalog, &profile, &args.sources, lock, runtime)?;
    Ok(Some((profile, rendered)))
}

/// Renders a valid profile, fetching its upstream files (`default_lock` unless `--lock-file`).
pub fn render_profile(
    catalog: &vmdeck_packs::Catalog,
    profile: &Profile,
    args: &SourceArgs,
    default_lock: PathBuf,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<vmdeck_packs::Rendered> {
    let secrets = read_secrets(&args.secrets)?;
    let lock = args.lock_file.clone().unwrap_or(default_lock);
    let mut store = SourceStore::new(lock).trust_on_first_use(args.trust_on_first_use);
    if let Some(dir) = args.cache_dir.clone().or_else(default_cache_dir) {
        store = store.with_cache_dir(dir);
    }
    if let Some(mirror) = &args.mirror {
        store = store.with_mirror(Mirror::parse(mirror));
    }
    let plan = plan_sources(catalog, profile)?;
    let fetched = runtime.block_on(store.fetch_all(&plan, &mut |_| {}))?;
    let rendered = render(catalog, profile, &secrets, &fetched)?;
    for pack in &rendered.packs {
        for warning in &pack.warnings {
            eprintln!("warning: {}: {warning}", pack.name);
        }
    }
    Ok(rendered)
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderOutput {
    Summary,
    Yaml,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got `{text}`")),
    }
}

fn parse_gate(text: &str) -> Result<(String, GateChoice), String> {
    let (name, choice) = parse_pair(text)?;
    Ok((name, choice.parse()?))
}

pub fn run(args: &CatalogArgs, command: ProfileCommand) -> anyhow::Result<ExitCode> {
    let catalog = args.load()?;
    match command {
        ProfileCommand::Init {
            preset,
            versions,
            gates,
            values,
        } => {
            let request = ProfileRequest {
                preset,
                versions: versions.into_iter().collect(),
                gates: gates.into_iter().collect(),
                values: values.into_iter().collect(),
            };
            let profile = profile_from_preset(&catalog, &request)?;
            let text = profile.to_yaml();
            match validate(&catalog, &profile, Some(&text)) {
                Ok(()) => {}
                Err(error) if error.issues.iter().any(|i| i.code == "secret_in_profile") => {
                    bail!(
                        "{error}\nsecrets are supplied at render time with --secret, never with --set"
                    )
                }
                Err(error) if error.issues.iter().any(|i| i.code.starts_with("gate_")) => {
                    return Err(anyhow!("{error}"));
                }
                Err(error) => {
                    eprintln!("note: fill in before rendering:");
                    print_issues(None, &error);
                }
            }
            emit(&text);
            Ok(ExitCode::SUCCESS)
        }
        ProfileCommand::Validate { file } => {
            let text = read(&file)?;
            match Profile::from_yaml(&text)
                .and_then(|p| validate(&catalog, &p, Some(&text)).map(|_| p))
            {
                Ok(profile) => {
                    emit(&format!(
                        "{}: valid ({} packs)\n",
                        file.display(),
                        profile.packs.len()
                    ));
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    print_issues(Some(&file), &error);
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        ProfileCommand::Render {
            source,
            output,
            show_secrets,
        } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let Some((_, rendered)) = render_file(&catalog, &source, &runtime)? else {
                return Ok(ExitCode::FAILURE);
            };
            match output {
                RenderOutput::Yaml => emit(&vmdeck_packs::output::to_yaml_stream(
                    &rendered,
                    show_secrets,
                )),
                RenderOutput::Summary => {
                    let rows: Vec<Vec<String>> = rendered
                        .objects
                        .iter()
                        .map(|o| {
                            let origin = match &o.origin {
                                vmdeck_packs::ObjectOrigin::Upstream {
                                    source, patches, ..
                                } if patches.is_empty() => format!("upstream {source}"),
                                vmdeck_packs::ObjectOrigin::Upstream {
                                    source, patches, ..
                                } => format!("upstream {source} (patched: {})", patches.join(", ")),
                                vmdeck_packs::ObjectOrigin::Template { file } => {
                                    format!("template {file}")
                                }
                            };
                            let name = match o.namespace() {
                                Some(ns) => format!("{ns}/{}", o.name()),
                                None => o.name().to_string(),
                            };
                            vec![o.pack.clone(), o.kind().to_string(), name, origin]
                        })
                        .collect();
                    crate::output_format::print_table(&["PACK", "KIND", "NAME", "ORIGIN"], &rows);
                    emit(&format!(
                        "{} objects from {} packs\n",
                        rendered.objects.len(),
                        rendered.packs.len()
                    ));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
}

fn print_issues(file: Option<&Path>, error: &ProfileError) {
    for issue in &error.issues {
        let location = match (file, issue.line) {
            (Some(f), Some(line)) => format!("{}:{line}: ", f.display()),
            (Some(f), None) => format!("{}: ", f.display()),
            (None, _) => String::new(),
        };
        let path = if issue.path.is_empty() {
            "(profile)"
        } else {
            &issue.path
        };
        eprintln!("{location}{path}: {} [{}]", issue.message, issue.code);
    }
}

/// `--secret PACK.KEY=env:NAME|file:PATH` -> secrets (values never come from the command line itself).
fn read_secrets(pairs: &[(String, String)]) -> anyhow::Result<Secrets> {
    let mut secrets = Secrets::new();
    for (key, source) in pairs {
        let (pack, path) = key
            .split_once('.')
            .ok_or_else(|| anyhow!("--secret {key}: write PACK.KEY, e.g. spectro-proxy.token"))?;
        let value = if let Some(name) = source.strip_prefix("env:") {
            std::env::var(name).with_context(|| {
                format!("--secret {key}: environment variable {name} is not set")
            })?
        } else if let Some(file) = source.strip_prefix("file:") {
            std::fs::read_to_string(file)
                .with_context(|| format!("--secret {key}: reading {file}"))?
                .trim_end()
                .to_string()
        } else {
            bail!(
                "--secret {key}: the value must be env:NAME or file:PATH (a secret is never passed on the command line)"
            );
        };
        secrets
            .entry(pack.to_string())
            .or_default()
            .insert(path.to_string(), value);
    }
    Ok(secrets)
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("vmdeck").join("sources"))
}
