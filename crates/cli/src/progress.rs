//! A progress bar on stderr for large scans run from a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use iocwatch_pipeline::Progress;

/// Inputs smaller than this finish too fast for a bar to help.
const MIN_BYTES: u64 = 64 * 1024 * 1024;

/// A byte-counting progress bar, drawn only for large inputs.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// Creates a bar that draws on stderr.
    pub fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let style =
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Self { bar }
    }
}

impl Progress for Bar {
    fn start(&self, total_bytes: u64) {
        if total_bytes >= MIN_BYTES {
            self.bar.set_length(total_bytes);
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
