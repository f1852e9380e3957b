//! The `medblind` binary end to end.
#![allow(missing_docs)]

use assert_cmd::Command;

#[test]
fn params_lists_every_preset_with_its_security() {
    let out = Command::cargo_bin("medblind").unwrap().arg("params").assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    for literal in medblind_core::ckks::presets::ALL {
        assert!(text.contains(literal.name), "{} missing from:\n{text}", literal.name);
    }
    assert!(text.contains("INSECURE, tests only"));
    assert!(text.contains("128-bit"));
}

#[test]
fn unknown_command_fails_with_usage() {
    Command::cargo_bin("medblind").unwrap().arg("no-such-command").assert().failure().code(2);
}
