//! Profile files on disk: the app's profiles folder (names checked, no path tricks), chosen paths, atomic writes
//! (temporary file in the same folder, then rename) and size-limited reads.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ui_error::UiError;
use crate::wizard_requests::ProfileLocation;
use crate::wizard_views::ProfileFileView;

/// A profile file larger than this is refused (a profile is a few kilobytes).
pub const MAX_PROFILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ProfileFileError {
    #[error(
        "file name `{name}` is not allowed: use letters, digits, `.`, `-` and `_` only (e.g. lab-profile.yaml), at most 100 characters"
    )]
    NameInvalid { name: String },
    #[error("`{path}` is not an absolute file path; choose the file again")]
    PathInvalid { path: String },
    #[error("cannot read {path}: {detail}")]
    Unreadable { path: String, detail: String },
    #[error("{path} is larger than 1 MiB and cannot be a profile; choose the profile file")]
    TooLarge { path: String },
    #[error("cannot write {path}: {detail}; choose another folder or check its permissions")]
    Unwritable { path: String, detail: String },
}

impl ProfileFileError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NameInvalid { .. } => "profile_file_name_invalid",
            Self::PathInvalid { .. } => "profile_path_invalid",
            Self::Unreadable { .. } => "profile_unreadable",
            Self::TooLarge { .. } => "profile_too_large",
            Self::Unwritable { .. } => "profile_unwritable",
        }
    }
}

impl From<ProfileFileError> for UiError {
    fn from(err: ProfileFileError) -> Self {
        let field = match err {
            ProfileFileError::NameInvalid { .. } => Some("file_name".to_string()),
            ProfileFileError::PathInvalid { .. } => Some("path".to_string()),
            _ => None,
        };
        let mut ui = UiError::new(err.code(), err.to_string());
        ui.field = field;
        ui
    }
}

/// The app's own folder of profiles (`<data dir>/profiles`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFolder {
    dir: PathBuf,
}

impl ProfileFolder {
    pub fn in_data_dir(data: &Path) -> Self {
        Self {
            dir: data.join("profiles"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a location names. A bare name gets `.yaml` added.
    pub fn resolve(&self, location: &ProfileLocation) -> Result<PathBuf, ProfileFileError> {
        match location {
            ProfileLocation::Named { name } => Ok(self.dir.join(file_name(name)?)),
            ProfileLocation::Path { path } => {
                let chosen = PathBuf::from(path);
                if !chosen.is_absolute() || chosen.file_name().is_none() {
                    return Err(ProfileFileError::PathInvalid { path: path.clone() });
                }
                Ok(chosen)
            }
        }
    }

    /// The profile files in the folder, by name (an absent folder has none).
    pub fn list(&self) -> Result<Vec<ProfileFileView>, ProfileFileError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(unreadable(&self.dir, err)),
        };
        let mut files: Vec<ProfileFileView> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_file() && has_yaml_extension(path))
            .filter_map(|path| {
                Some(ProfileFileView {
                    name: path.file_name()?.to_str()?.to_string(),
                    location: path.display().to_string(),
                })
            })
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }
}

/// `lab` -> `lab.yaml`; names with separators or other characters are refused.
pub fn file_name(name: &str) -> Result<String, ProfileFileError> {
    let name = name.trim();
    let allowed = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !allowed {
        return Err(ProfileFileError::NameInvalid {
            name: name.to_string(),
        });
    }
    if has_yaml_extension(Path::new(name)) {
        Ok(name.to_string())
    } else {
        Ok(format!("{name}.yaml"))
    }
}

fn has_yaml_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

fn unreadable(path: &Path, err: impl std::fmt::Display) -> ProfileFileError {
    ProfileFileError::Unreadable {
        path: path.display().to_string(),
        detail: err.to_string(),
    }
}

/// Writes `text` atomically (temporary file beside `path`, fsync, rename, fsync of the folder):
/// never a half-written file. The file is readable by the user only (mode 0600 on Unix).
pub fn write_atomic(path: &Path, text: &str) -> Result<(), ProfileFileError> {
    let unwritable = |err: &dyn std::fmt::Display| ProfileFileError::Unwritable {
        path: path.display().to_string(),
        detail: err.to_string(),
    };
    let dir = path
        .parent()
        .ok_or_else(|| unwritable(&"it has no folder"))?;
    std::fs::create_dir_all(dir).map_err(|e| unwritable(&e))?;
    let mut options = atomic_write_file::OpenOptions::new();
    #[cfg(unix)]
    {
        use atomic_write_file::unix::OpenOptionsExt as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600).preserve_mode(false);
    }
    let mut file = options.open(path).map_err(|e| unwritable(&e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.commit())
        .map_err(|e| unwritable(&e))
}

/// Reads a profile file, refusing anything over [`MAX_PROFILE_BYTES`] or not UTF-8.
pub fn read_profile_text(path: &Path) -> Result<String, ProfileFileError> {
    let size = std::fs::metadata(path)
        .map_err(|e| unreadable(path, e))?
        .len();
    if size > MAX_PROFILE_BYTES {
        return Err(ProfileFileError::TooLarge {
            path: path.display().to_string(),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
    String::from_utf8(bytes).map_err(|_| unreadable(path, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_folder() {
        assert_eq!(file_name("lab").unwrap(), "lab.yaml");
        assert_eq!(file_name("lab.yml").unwrap(), "lab.yml");
        assert_eq!(file_name(" my_lab-1.yaml ").unwrap(), "my_lab-1.yaml");
        for bad in ["", "../x", "a/b", ".hidden", "a b", "é", &"x".repeat(101)] {
            let err = file_name(bad).unwrap_err();
            assert_eq!(err.code(), "profile_file_name_invalid", "{bad}");
        }
    }

    #[test]
    fn relative_paths_are_refused_and_absolute_ones_kept() {
        let folder = ProfileFolder::in_data_dir(Path::new("/data"));
        let named = folder
            .resolve(&ProfileLocation::Named { name: "lab".into() })
            .unwrap();
        assert_eq!(named, Path::new("/data/profiles/lab.yaml"));
        let relative = folder
            .resolve(&ProfileLocation::Path {
                path: "lab.yaml".into(),
            })
            .unwrap_err();
        assert_eq!(relative.code(), "profile_path_invalid");
        let chosen = folder
            .resolve(&ProfileLocation::Path {
                path: "/home/me/p.yaml".into(),
            })
            .unwrap();
        assert_eq!(chosen, Path::new("/home/me/p.yaml"));
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("p.yaml");
        write_atomic(&path, "one").unwrap();
        write_atomic(&path, "two").unwrap();
        assert_eq!(read_profile_text(&path).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("p.yaml")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn oversized_and_missing_files_are_refused_with_codes() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, vec![b'#'; (MAX_PROFILE_BYTES + 1) as usize]).unwrap();
        assert_eq!(
            read_profile_text(&big).unwrap_err().code(),
            "profile_too_large"
        );
        let missing = dir.path().join("none.yaml");
        assert_eq!(
            read_profile_text(&missing).unwrap_err().code(),
            "profile_unreadable"
        );
    }

    #[test]
    fn listing_shows_yaml_files_only_and_an_absent_folder_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let folder = ProfileFolder::in_data_dir(dir.path());
        assert!(folder.list().unwrap().is_empty());
        write_atomic(&folder.dir().join("b.yaml"), "x").unwrap();
        write_atomic(&folder.dir().join("a.yml"), "x").unwrap();
        write_atomic(&folder.dir().join("notes.txt"), "x").unwrap();
        let names: Vec<String> = folder.list().unwrap().into_iter().map(|f| f.name).collect();
        assert_eq!(names, vec!["a.yml", "b.yaml"]);
    }
}
