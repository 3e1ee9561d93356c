//! Reading the values of the sources' counters in tests.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// A counter's name and sorted labels.
type CounterKey = (String, Vec<(String, String)>);

struct Recorded {
    snapshotter: Snapshotter,
    /// Counter totals: a snapshot resets the counters it reads, and tests in
    /// parallel read them, so every reading is added up here.
    totals: Mutex<HashMap<CounterKey, u64>>,
}

/// Installs a recording metrics recorder for the whole test process, once.
/// Counters registered before the first call are not recorded, so a test
/// calls this before it starts its source.
pub(super) fn install() {
    recorded();
}

fn recorded() -> &'static Recorded {
    static RECORDED: OnceLock<Recorded> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("no other metrics recorder is installed in tests");
        Recorded {
            snapshotter,
            totals: Mutex::new(HashMap::new()),
        }
    })
}

/// Returns the total of counter `name` with exactly `labels`, or 0.
pub(super) fn counter(name: &str, labels: &[(&str, &str)]) -> u64 {
    let recorded = recorded();
    let mut totals = recorded.totals.lock().unwrap();
    for (key, _, _, value) in recorded.snapshotter.snapshot().into_vec() {
        let DebugValue::Counter(value) = value else {
            continue;
        };
        let key = key.key();
        let mut key_labels: Vec<(String, String)> = key
            .labels()
            .map(|label| (label.key().to_owned(), label.value().to_owned()))
            .collect();
        key_labels.sort();
        *totals.entry((key.name().to_owned(), key_labels)).or_default() += value;
    }
    let mut expected_labels: Vec<(String, String)> = labels
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    expected_labels.sort();
    totals
        .get(&(name.to_owned(), expected_labels))
        .copied()
        .unwrap_or(0)
}
