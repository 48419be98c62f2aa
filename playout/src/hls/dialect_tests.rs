//! A partner's cue dialect: the channel's playlist with one of its two sets of break tags left out.

use super::*;
use crate::fixtures::{self, at_millis};

fn rendered(now_millis: i64, dialect: CueDialect) -> String {
    let options = MediaPlaylistOptions {
        dialect,
        ..MediaPlaylistOptions::ts()
    };
    render_media_playlist_with(
        &fixtures::break_playout(),
        "360p",
        at_millis(now_millis),
        &options,
    )
    .unwrap()
}

fn is_daterange(line: &str) -> bool {
    line.starts_with("#EXT-X-DATERANGE")
}

fn is_cue_out_tag(line: &str) -> bool {
    line.starts_with("#EXT-X-CUE-") || line.starts_with("#EXT-OATCLS-SCTE35")
}

fn without(text: &str, drop: fn(&str) -> bool) -> String {
    text.lines()
        .filter(|line| !drop(line))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn each_dialect_is_the_channel_playlist_without_the_other_dialect_tags() {
    // 14 s: the break's out, continuation and return are listed; 16 s: the window opens inside it.
    for now_millis in [10_000, 14_000, 16_000] {
        let both = rendered(now_millis, CueDialect::Both);
        assert!(both.lines().any(is_daterange), "{both}");
        assert!(both.lines().any(is_cue_out_tag), "{both}");

        let cue_out = rendered(now_millis, CueDialect::CueOut);
        assert!(!cue_out.lines().any(is_daterange), "{cue_out}");
        assert!(cue_out.lines().any(is_cue_out_tag), "{cue_out}");
        assert_eq!(cue_out, without(&both, is_daterange));

        let daterange = rendered(now_millis, CueDialect::DateRange);
        assert!(daterange.lines().any(is_daterange), "{daterange}");
        assert!(!daterange.lines().any(is_cue_out_tag), "{daterange}");
        assert_eq!(daterange, without(&both, is_cue_out_tag));
    }
}

#[test]
fn the_cue_out_dialect_opens_continues_and_closes_the_break() {
    let text = rendered(14_000, CueDialect::CueOut);
    let tags: Vec<&str> = text
        .lines()
        .filter(|line| is_cue_out_tag(line))
        .map(|line| line.split([':', '=']).next().unwrap())
        .collect();
    assert_eq!(
        tags,
        [
            "#EXT-OATCLS-SCTE35",
            "#EXT-X-CUE-OUT",
            "#EXT-X-CUE-OUT-CONT",
            "#EXT-X-CUE-OUT-CONT",
            "#EXT-X-CUE-IN",
        ],
        "{text}"
    );
}
