//! The `medblind` crate's integration tests, in one binary (one link of the crate instead of one per file).
#![allow(missing_docs)]

mod cli;
mod cloud_training;
mod fetch;
mod hospital_data;
mod pretrained;
mod readme;

/// The `medblind` binary cargo built for these tests.
fn medblind() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("medblind").unwrap()
}
