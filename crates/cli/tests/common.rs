//! Helpers shared by the integration tests: running the binary and
//! reading its JSON alerts.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Returns a command for the `iocwatch` binary built for these tests.
pub fn iocwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iocwatch"))
}

/// Runs `iocwatch` with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    iocwatch().args(args).output().expect("iocwatch runs")
}

/// Returns a path under the shared folder next to the repository (or the
/// folder that `IOCWATCH_SHARED_DIR` names), or `None` (with a visible
/// message) when it is absent.
pub fn shared(sub: &str) -> Option<PathBuf> {
    let root = std::env::var_os("IOCWATCH_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = root.join(sub);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} not found", path.display());
        None
    }
}

/// Parses JSON-lines output into documents.
pub fn alerts(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|err| panic!("invalid alert JSON {line:?}: {err}"))
        })
        .collect()
}

/// Returns the `threat.enrichments` entries of an alert.
pub fn enrichments(alert: &Value) -> &[Value] {
    alert["threat"]["enrichments"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Returns the exit status code.
pub fn status(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
