//! VMs as a dashboard: create a VM from a draft (checked at the field, reviewed as YAML), follow
//! its disk import, snapshots and restores, clones, delete with or without disks, edit.

pub mod build;
pub mod clone;
pub mod cluster_check;
pub mod create;
pub mod delete_vm;
pub mod disk_progress;
pub mod draft;
pub mod edit_vm;
pub mod form_check;
pub mod quantity;
pub mod resources;
pub mod snapshots;

pub use build::{Built, build};
pub use create::{CreateError, Created, create, review};
pub use draft::{BootSource, CloudInit, FieldError, FieldErrors, Networks, TypeRef, VmDraft};
