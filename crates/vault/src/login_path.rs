//! The PATH of the user's login shell, resolved once, for running exec credential plugins.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const START_MARK: &str = "__VMDECK_PATH_START__";
const END_MARK: &str = "__VMDECK_PATH_END__";

/// Where exec plugins are searched for, and whether a terminal is attached.
#[derive(Debug, Clone)]
pub struct ExecEnvironment {
    pub path: OsString,
    /// True when stdin is a terminal (a CLI run); the desktop app has none.
    pub has_terminal: bool,
}

impl ExecEnvironment {
    /// Resolves the login shell's PATH (`$SHELL -l -c 'printf %s "$PATH"'`) within `timeout`,
    /// falling back to this process's PATH.
    pub fn detect(timeout: Duration) -> Self {
        use std::io::IsTerminal;
        let path = std::env::var_os("SHELL")
            .filter(|s| !s.is_empty())
            .and_then(|shell| login_shell_path(Path::new(&shell), timeout))
            .unwrap_or_else(|| std::env::var_os("PATH").unwrap_or_default());
        Self {
            path,
            has_terminal: std::io::stdin().is_terminal(),
        }
    }

    /// A fixed PATH (tests, or when the caller already knows it).
    pub fn with_path(path: impl Into<OsString>) -> Self {
        Self {
            path: path.into(),
            has_terminal: false,
        }
    }

    /// Finds a bare command name on this PATH.
    pub fn find_on_path(&self, command: &str) -> Option<PathBuf> {
        std::env::split_paths(&self.path)
            .map(|dir| dir.join(command))
            .find(|candidate| is_executable(candidate))
    }
}

/// Runs `shell -l -c` to print PATH between markers (profiles may print other text). `None`
/// when the shell fails, prints nothing usable, or takes longer than `timeout`.
pub fn login_shell_path(shell: &Path, timeout: Duration) -> Option<OsString> {
    let script = format!("printf '%s%s%s' '{START_MARK}' \"$PATH\" '{END_MARK}'");
    let mut child = Command::new(shell)
        .args(["-l", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(10))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                tracing::warn!(shell = %shell.display(), "login shell did not print PATH in time; using the process PATH");
                return None;
            }
        }
    }
    let output = String::from_utf8(reader.join().ok()?).ok()?;
    let start = output.find(START_MARK)? + START_MARK.len();
    let end = start + output[start..].find(END_MARK)?;
    let path = &output[start..end];
    (!path.is_empty()).then(|| OsStr::new(path).to_os_string())
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_path_from_a_login_shell_profile_even_with_noise() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join(".bash_profile"),
            "echo welcome\nexport PATH=/opt/plugin-bin:$PATH\n",
        )
        .unwrap();
        let shell = home.path().join("login-shell");
        std::fs::write(
            &shell,
            format!(
                "#!/bin/sh\nexport HOME={}\nexec /bin/bash \"$@\"\n",
                home.path().display()
            ),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&shell, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = login_shell_path(&shell, Duration::from_secs(10)).unwrap();
        assert!(
            path.to_string_lossy().starts_with("/opt/plugin-bin:"),
            "{path:?}"
        );
    }

    #[test]
    fn a_hanging_shell_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let shell = dir.path().join("slow-shell");
        std::fs::write(&shell, "#!/bin/sh\nsleep 30\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&shell, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert!(login_shell_path(&shell, Duration::from_millis(200)).is_none());
    }
}
