//! VMDeck sources: fetch pack upstream files from a mirror, the cache or the internet, check their sha256,
//! keep a cache keyed by digest and a lock file for sources trusted on first use; read user pack folders.

pub mod atomic_write;
pub mod cache;
pub mod fetch;
pub mod lock;
pub mod mirror;
pub mod user_packs;

pub use fetch::{Progress, SourceError, SourceStore};
pub use mirror::Mirror;
pub use user_packs::read_pack_folders;
