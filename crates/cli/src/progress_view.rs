//! Install and uninstall progress on the terminal: one indicatif bar per cluster when stderr is a
//! terminal, plain lines (prefixed with the cluster when there are several) when it is not.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tokio::sync::mpsc;
use vmdeck_installer::{Progress, ProgressSink};

/// Where the runs' progress is drawn.
pub struct ProgressView {
    bars: Option<MultiProgress>,
    several: bool,
}

/// A line for the events worth a line; `None` for the rest (counted by the bar).
fn line(event: &Progress) -> Option<String> {
    match event {
        Progress::InventoryWritten { objects } => {
            Some(format!("inventory written ({objects} objects to apply)"))
        }
        Progress::PhaseStarted {
            pack,
            phase,
            objects,
        } => Some(format!("{pack}: {phase} ({objects})")),
        Progress::Retrying {
            pack,
            object,
            attempt,
            reason,
        } => Some(format!(
            "  {pack}: retrying {object} (attempt {attempt}): {reason}"
        )),
        Progress::Waiting { pack, what, status } => {
            Some(format!("  {pack}: waiting for {what}: {status}"))
        }
        Progress::PackReady { pack } => Some(format!("{pack}: ready")),
        Progress::Deleted { object } => Some(format!("  deleted {object}")),
        Progress::Applied { .. } | Progress::Deleting { .. } | Progress::Done { .. } => None,
    }
}

impl ProgressView {
    /// Bars on a terminal; `clusters` says whether lines need the cluster's name.
    pub fn new(clusters: usize) -> Self {
        Self {
            bars: std::io::stderr().is_terminal().then(MultiProgress::new),
            several: clusters > 1,
        }
    }

    /// A sink for one cluster's run, drawn until the sink is dropped; `total` objects to count.
    pub fn follow(
        &self,
        cluster: &str,
        total: usize,
    ) -> (ProgressSink, tokio::task::JoinHandle<()>) {
        let (sender, mut receiver) = mpsc::channel(64);
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new(total as u64));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:.bold} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}",
                )
                .expect("the template is valid")
                .progress_chars("=> "),
            );
            bar.set_prefix(cluster.to_string());
            bar
        });
        let prefix = if self.several {
            format!("[{cluster}] ")
        } else {
            String::new()
        };
        let printer = tokio::spawn(async move {
            while let Some(event) = receiver.recv().await {
                match &bar {
                    Some(bar) => match &event {
                        Progress::Applied { .. } | Progress::Deleted { .. } => bar.inc(1),
                        Progress::Done { .. } => bar.finish_with_message("done"),
                        other => {
                            if let Some(text) = line(other) {
                                bar.set_message(text.trim().to_string());
                            }
                        }
                    },
                    None => {
                        if let Some(text) = line(&event) {
                            eprintln!("{prefix}{text}");
                        }
                    }
                }
            }
            if let Some(bar) = bar
                && !bar.is_finished()
            {
                bar.abandon();
            }
        });
        (ProgressSink::new(sender), printer)
    }
}
