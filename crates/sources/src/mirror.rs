//! Mirror setting for air-gapped installs and tests: a base URL or a local folder laid out as
//! `<component>/<version>/<file>` (each source's `mirror` path).

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mirror {
    Dir(PathBuf),
    Url(String),
}

impl Mirror {
    /// `http://` and `https://` give a URL mirror, anything else a folder.
    pub fn parse(text: &str) -> Mirror {
        if text.starts_with("http://") || text.starts_with("https://") {
            Mirror::Url(text.trim_end_matches('/').to_string())
        } else {
            Mirror::Dir(PathBuf::from(text))
        }
    }

    /// Where the file of `mirror_path` lives in this mirror.
    pub fn location(&self, mirror_path: &str) -> String {
        match self {
            Mirror::Dir(dir) => dir.join(mirror_path).display().to_string(),
            Mirror::Url(base) => format!("{base}/{}", mirror_path.trim_start_matches('/')),
        }
    }
}
