//! `onair user …`, the real binary against a temporary data folder: the first admin made from
//! the command line with a piped password, listed, given a token; the refusals one
//! `onair: error:` line each.

use crate::support;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `onair ARGS` on the data folder `dir` with `stdin` piped in.
fn onair_with_stdin(dir: &Path, args: &[&str], stdin: &str) -> Output {
    support::onair_with_stdin(args, &[("ONAIR_DATA_DIR", dir.to_str().unwrap())], stdin)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_first_admin_is_added_from_the_command_line_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let added = onair_with_stdin(
        dir.path(),
        &[
            "user",
            "add",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert_eq!(
        text(&added.stdout),
        "user admin added: admin on every channel\n"
    );

    let listed = support::onair(
        &["user", "list"],
        &[("ONAIR_DATA_DIR", dir.path().to_str().unwrap())],
    );
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let list = text(&listed.stdout);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 1, "{list}");
    assert!(
        lines[0].starts_with("admin ") && lines[0].contains("admin on every channel"),
        "{list}"
    );
    assert!(lines[0].contains("two-factor off"), "{list}");

    // A token, printed once on standard output alone.
    let token = onair_with_stdin(dir.path(), &["user", "token", "admin", "ci"], "");
    assert!(token.status.success(), "{}", text(&token.stderr));
    let printed = text(&token.stdout);
    assert!(printed.starts_with("onair_"), "{printed}");
    assert_eq!(printed.trim().len(), 49, "{printed}");

    // The refusals: the same name in another case, a short password, a role that is none,
    // and the last admin's role.
    for (args, stdin, words) in [
        (
            &["user", "add", "ADMIN", "--password-stdin"][..],
            "another long password\n",
            "there is already a user \"admin\"",
        ),
        (
            &["user", "add", "bob", "--password-stdin"][..],
            "short\n",
            "at least 10 characters; this one has 5",
        ),
        (
            &["user", "passwd", "admin"][..],
            "",
            "not a terminal to ask for the password on: pipe it with --password-stdin",
        ),
        (
            &["user", "role", "admin", "admin", "--revoke"][..],
            "",
            "admin is the last admin",
        ),
    ] {
        let refused = onair_with_stdin(dir.path(), args, stdin);
        assert!(!refused.status.success(), "{args:?} succeeded");
        let stderr = text(&refused.stderr);
        assert!(
            stderr.starts_with("onair: error:") && stderr.contains(words),
            "{args:?}: {stderr}"
        );
    }
    let refused = onair_with_stdin(dir.path(), &["user", "role", "admin", "owner"], "");
    assert!(
        text(&refused.stderr).contains("there is no role \"owner\""),
        "{}",
        text(&refused.stderr)
    );
}

/// `onair serve` on the data folder `dir`, listening on every address (`0.0.0.0`, a free port).
fn serve_on_every_address(dir: &Path) -> std::process::Child {
    Command::new(support::ONAIR)
        .arg("serve")
        .env("ONAIR_DATA_DIR", dir)
        .env_remove("ONAIR_CONFIG")
        .env("ONAIR_HTTP_ADDR", "0.0.0.0:0")
        .env("ONAIR_RTMP_ADDR", "127.0.0.1:0")
        .env("ONAIR_SRT_ADDR", "127.0.0.1:0")
        .env("ONAIR_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn serve_refuses_to_listen_beyond_this_machine_until_an_admin_exists() {
    let dir = tempfile::tempdir().unwrap();
    let refused = serve_on_every_address(dir.path())
        .wait_with_output()
        .unwrap();
    assert!(!refused.status.success());
    let said = text(&refused.stderr);
    assert!(
        said.contains("beyond this machine") && said.contains("onair user add NAME --role admin"),
        "{said}"
    );

    let added = onair_with_stdin(
        dir.path(),
        &["user", "add", "boss", "--role", "admin", "--password-stdin"],
        "correct horse battery\n",
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    let mut server = serve_on_every_address(dir.path());
    let stdout = server.stdout.take().unwrap();
    let listening = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .map_while(Result::ok)
        .any(|line| line.starts_with("onair listening on "));
    let _ = server.kill();
    let _ = server.wait();
    assert!(listening, "with an admin, serve listens on every address");
}
