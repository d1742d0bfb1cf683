//! VMDeck packs: the catalog of installable packs, dependency resolution, values, feature gates, profiles and
//! rendering to Kubernetes objects. No I/O: files and upstream bytes are passed in.

pub mod catalog;
pub mod config_keys;
pub mod digest;
pub mod documents;
mod embedded;
pub mod gates;
pub mod manifest;
pub mod output;
mod patches;
pub mod profile;
pub mod profile_check;
pub mod profile_init;
pub mod render;
pub mod resolve;
mod templating;
pub mod values;
pub mod version_name;
pub mod yaml_locate;

pub use catalog::{Catalog, CatalogError, Pack, PackFiles, PackOrigin, PackSummary, Preset};
pub use digest::{DigestMismatch, sha256_hex};
pub use gates::{GateCatalog, GateChoice, GateError, GateRow, Maturity, RenderedGates};
pub use manifest::{PackManifest, UpstreamSource};
pub use profile::{Profile, ProfileError, ProfileIssue, ProfilePack};
pub use profile_check::{Secrets, validate, validate_with_secrets};
pub use profile_init::{InitError, ProfileRequest, profile_from_preset, set_gate};
pub use render::{
    FetchedSources, ObjectOrigin, RenderError, Rendered, RenderedObject, RenderedPack,
    SourceRequest, plan_sources, render,
};
pub use resolve::{PackGraph, ResolveError, ResolvedPack, SelectionReason, resolve};
