//! What the partner tests share: a private copy of the demo database on a clock all but
//! stopped, `onair partner …` against it, and XMLTV through `tv_validate_file`.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{copy_demo_database, demo_data_dir, onair};

/// A private copy of the demo database (the media shared, read only) and a configuration whose
/// virtual clock starts at `now` and runs at a thousandth of real time.
pub struct PrivateDemo {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    data_dir: String,
    media_dir: String,
    config_path: String,
}

impl PrivateDemo {
    pub fn at(now: DateTime<Utc>) -> PrivateDemo {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        copy_demo_database(dir.path());
        let config = dir.path().join("onair.toml");
        std::fs::write(
            &config,
            format!(
                "[playout]\nvirtual_clock = {{ start = \"{}\", speed = 0.001 }}\n",
                now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
        )
        .unwrap();
        PrivateDemo {
            data_dir: dir.path().to_str().unwrap().to_owned(),
            media_dir: demo_data_dir().join("media").to_str().unwrap().to_owned(),
            config_path: config.to_str().unwrap().to_owned(),
            dir,
            config,
        }
    }

    /// `ONAIR_DATA_DIR`, `ONAIR_MEDIA_DIR` and `ONAIR_CONFIG` for the CLI; a server takes the
    /// first two and `--config`.
    pub fn env(&self) -> [(&str, &str); 3] {
        [
            ("ONAIR_DATA_DIR", self.data_dir.as_str()),
            ("ONAIR_MEDIA_DIR", self.media_dir.as_str()),
            ("ONAIR_CONFIG", self.config_path.as_str()),
        ]
    }
}

/// Runs `onair partner ARGS` with `env`: its JSON answer.
pub fn partner_cli(env: &[(&str, &str)], args: &[&str]) -> Value {
    let mut all = vec!["partner"];
    all.extend_from_slice(args);
    let output = onair(&all, env);
    assert!(
        output.status.success(),
        "onair {all:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `xml` through `tv_validate_file` (Debian `xmltv-util`), written in `dir`; without it, a loud
/// message (a failure when `CI=true`).
pub fn validate_xmltv(xml: &str, dir: &Path) {
    let validator = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("tv_validate_file"))
            .find(|candidate| candidate.is_file())
    });
    let Some(validator) = validator else {
        let message = "tv_validate_file NOT FOUND: install Debian's xmltv-util (scripts/install-deps --test) — XMLTV NOT VALIDATED";
        eprintln!("\n{bar}\n!!! {message}\n{bar}\n", bar = "!".repeat(100));
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        return;
    };
    let path = dir.join("validate.xml");
    std::fs::write(&path, xml).unwrap();
    let mut command = Command::new(validator);
    let dtd = Path::new("/usr/share/xmltv/xmltv.dtd");
    if dtd.exists() {
        command.arg("--dtd-file").arg(dtd);
    }
    let output = command.arg(&path).output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "tv_validate_file refused:\n{report}"
    );
    assert!(report.contains("Validated ok"), "{report}");
}
