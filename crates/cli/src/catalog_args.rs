//! Options shared by every subcommand: where extra user packs live; loads the catalog.

use std::path::PathBuf;

use anyhow::Context;
use vmdeck_packs::Catalog;

#[derive(clap::Args, Debug, Clone)]
pub struct CatalogArgs {
    /// A folder of extra packs (one sub-folder per pack) added to the built-in ones.
    #[arg(long, global = true, env = "VMDECK_PACKS_DIR", value_name = "DIR")]
    pub packs_dir: Option<PathBuf>,
}

impl CatalogArgs {
    pub fn load(&self) -> anyhow::Result<Catalog> {
        let catalog = Catalog::embedded().context("the built-in pack catalog is broken")?;
        match &self.packs_dir {
            None => Ok(catalog),
            Some(dir) => {
                let folders = vmdeck_sources::read_pack_folders(dir)
                    .with_context(|| format!("reading packs from {}", dir.display()))?;
                catalog
                    .with_user_packs(&folders)
                    .with_context(|| format!("loading packs from {}", dir.display()))
            }
        }
    }
}
