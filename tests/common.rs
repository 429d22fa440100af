//! Shared helpers for integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `zd2gc` command ready to run, with colour off.
pub fn zd2gc() -> assert_cmd::Command {
    // The binary cargo built for this test run (not whatever target/debug holds).
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_zd2gc"));
    c.env("NO_COLOR", "1")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET");
    c
}

/// Write files into a directory (path → contents).
pub fn write_files(dir: &Path, files: &[(&str, &[u8])]) {
    for (name, body) in files {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, body).unwrap();
    }
}
