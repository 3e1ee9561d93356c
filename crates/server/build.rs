//! Rebuilds the crate when a file of the web console changes, because
//! `include_dir!` bundles `assets/` without telling Cargo about its files.

fn main() {
    println!("cargo:rerun-if-changed=assets");
}
