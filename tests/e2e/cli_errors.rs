//! Bad configuration and a hostile environment: the real binary exits non-zero with one clear
//! line, and never panics.

use std::process::Output;

use crate::support::onair;

fn one_error_line(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "expected a failure, got success: {output:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("onair: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "exactly one error line in:\n{stderr}");
    errors[0].to_owned()
}

fn write_config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onair.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path.to_str().unwrap().to_owned())
}

#[test]
fn a_malformed_config_file_is_one_clear_line() {
    let (_dir, path) = write_config("[http\naddr = ");
    let line = one_error_line(&onair(&["--config", &path, "config", "check"], &[]));
    assert!(line.contains("invalid config file"), "{line}");
}

#[test]
fn an_unknown_config_key_is_named() {
    let (_dir, path) = write_config("[storage]\ndata_dri = \"/tmp/x\"\n");
    let line = one_error_line(&onair(&["--config", &path, "serve"], &[]));
    assert!(line.contains("unknown field `data_dri`"), "{line}");
}

#[test]
fn an_unreachable_database_is_one_clear_line_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let output = onair(
        &["migrate"],
        &[
            ("ONAIR_DATA_DIR", dir.path().to_str().unwrap()),
            (
                "ONAIR_DATABASE_URL",
                "postgres://onair:hunter2@127.0.0.1:1/onair",
            ),
        ],
    );
    let line = one_error_line(&output);
    assert!(line.contains("127.0.0.1:1"), "{line}");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("hunter2"),
        "the password is redacted: {line}"
    );
}

#[test]
fn a_port_in_use_is_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let output = onair(
        &["serve"],
        &[
            ("ONAIR_DATA_DIR", dir.path().to_str().unwrap()),
            ("ONAIR_HTTP_ADDR", &addr),
        ],
    );
    let line = one_error_line(&output);
    assert!(line.contains(&format!("cannot listen on {addr}")), "{line}");
}

#[test]
fn a_data_directory_that_cannot_be_written_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let data_dir = file.join("data");
    let line = one_error_line(&onair(
        &["serve"],
        &[("ONAIR_DATA_DIR", data_dir.to_str().unwrap())],
    ));
    assert!(line.contains(data_dir.to_str().unwrap()), "{line}");
}

#[test]
fn the_example_config_passes_config_check() {
    let example = onair(&["config", "example"], &[]);
    assert!(example.status.success());
    let (_dir, path) = write_config(&String::from_utf8(example.stdout).unwrap());
    let check = onair(&["--config", &path, "config", "check"], &[]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("is valid"));
}
