//! Helpers of the tests that decode the real logs kept beside the
//! workspace in `shared/data`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use iocwatch_logs::{DecodeError, Format, detect_format, new_decoder};
use iocwatch_model::Record;

/// Returns `shared/data/RELATIVE` beside the workspace, or `None` after
/// printing that the tests which need it skip.
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let (dir, shown) = if relative.is_empty() {
        (base, PathBuf::from("../shared/data"))
    } else {
        (base.join(relative), Path::new("../shared/data").join(relative))
    };
    if dir.exists() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} not found (looked in {})",
            shown.display(),
            dir.display()
        );
        None
    }
}

/// Returns the bytes of the file at `path`, decompressed when its name
/// ends in `.gz`.
pub fn read_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    let result = File::open(path).and_then(|mut file| {
        if path.extension().is_some_and(|extension| extension == "gz") {
            GzDecoder::new(file).read_to_end(&mut bytes)
        } else {
            file.read_to_end(&mut bytes)
        }
    });
    if let Err(err) = result {
        panic!("reading {} failed: {err}", path.display());
    }
    bytes
}

/// Decodes every line of the file at `path` with the decoder that
/// [`detect_format`] picks from its first 64 KiB, and hands `each` the
/// 1-based line number and the result of each line. Returns the format,
/// or `None` when none was detected and no line was decoded.
pub fn decode_lines(
    path: &Path,
    mut each: impl FnMut(usize, Result<Option<Record<'_>>, DecodeError>),
) -> Option<Format> {
    let bytes = read_bytes(path);
    let format = detect_format(bytes.get(..bytes.len().min(64 << 10)).unwrap_or_default())?;
    let mut decoder = new_decoder(format);
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        each(index + 1, decoder.decode(line));
    }
    Some(format)
}
