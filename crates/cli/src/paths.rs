//! Tests of whether two paths name one file.

use std::fs::Metadata;
use std::path::Path;

/// Returns whether two paths name one file, by their text, their
/// canonical form, or, through hard links, their device and inode.
pub(crate) fn same_file(first: &Path, second: &Path) -> bool {
    if first == second {
        return true;
    }
    if let (Ok(first), Ok(second)) = (first.canonicalize(), second.canonicalize())
        && first == second
    {
        return true;
    }
    matches!(
        (std::fs::metadata(first), std::fs::metadata(second)),
        (Ok(first), Ok(second)) if same_metadata_file(&first, &second)
    )
}

/// Returns whether two metadata describe one file, which hard and
/// symbolic links give several paths.
#[cfg(unix)]
fn same_metadata_file(first: &Metadata, second: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    first.dev() == second.dev() && first.ino() == second.ino()
}

/// Returns false: without device and inode numbers, only canonical paths
/// are compared.
#[cfg(not(unix))]
fn same_metadata_file(_: &Metadata, _: &Metadata) -> bool {
    false
}
