//! Launch options: `--demo` or `VMDECK_DEMO=1` for demo mode (`--reset-demo` empties the demo
//! folder first), `--session-only` to skip the keyring.

use vmdeck_desktop_core::{AppConfig, SecretsChoice};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchOptions {
    pub demo: bool,
    pub session_only: bool,
    /// Empty the demo folder (`<data>/demo`) before starting: a fresh Demo cluster.
    pub reset_demo: bool,
}

impl LaunchOptions {
    pub fn from_env_and_args(args: impl Iterator<Item = String>) -> Self {
        let mut options = Self {
            demo: std::env::var("VMDECK_DEMO").is_ok_and(|v| is_truthy(&v)),
            session_only: false,
            reset_demo: false,
        };
        for arg in args {
            match arg.as_str() {
                "--demo" => options.demo = true,
                "--session-only" => options.session_only = true,
                "--reset-demo" => options.reset_demo = true,
                other => eprintln!(
                    "vmdeck: ignoring unknown argument {other:?} (known: --demo, --reset-demo, --session-only)"
                ),
            }
        }
        options
    }

    /// `--reset-demo`: empties the demo folder (only in demo mode; the user's data is never touched).
    pub fn reset_demo_folder(&self) -> Result<(), String> {
        if !self.reset_demo {
            return Ok(());
        }
        if !self.demo {
            eprintln!("vmdeck: --reset-demo applies in demo mode only (add --demo); nothing reset");
            return Ok(());
        }
        let home = vmdeck_desktop_core::demo::demo_home(None).map_err(|e| e.message)?;
        if vmdeck_desktop_core::demo::reset(&home).map_err(|e| e.message)? {
            eprintln!("vmdeck: demo folder {} reset", home.display());
        }
        Ok(())
    }

    pub fn core_config(&self) -> AppConfig {
        AppConfig {
            demo: self.demo,
            secrets: if self.session_only {
                SecretsChoice::SessionOnly
            } else {
                SecretsChoice::OsKeyring
            },
            ..AppConfig::default()
        }
    }
}

fn is_truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_flag_turns_demo_mode_on() {
        let options = LaunchOptions::from_env_and_args(["--demo".to_string()].into_iter());
        assert!(options.demo);
        assert!(options.core_config().demo);
        assert!(!options.session_only);
    }

    #[test]
    fn reset_demo_flag_is_read() {
        let options = LaunchOptions::from_env_and_args(
            ["--demo".to_string(), "--reset-demo".to_string()].into_iter(),
        );
        assert!(options.demo && options.reset_demo);
        let plain = LaunchOptions::from_env_and_args(["--demo".to_string()].into_iter());
        assert!(!plain.reset_demo);
    }

    #[test]
    fn truthy_values() {
        assert!(is_truthy("1") && is_truthy("TRUE") && is_truthy(" yes "));
        assert!(!is_truthy("0") && !is_truthy("") && !is_truthy("no"));
    }
}
