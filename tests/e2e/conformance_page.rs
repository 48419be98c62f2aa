//! End to end: the conformance pages through the real binary, on a private copy of the demo
//! database (the media shared, read only). `/conformance` lists the channels and partners with
//! a form each; the report page names the rules of a failing check (Pluto TV, the demo's 2 s
//! segments) and of a passing one (the HLS baseline), a partner's report has a section per
//! channel, and a channel off air shows why on the page. Who may run what follows the API: a
//! user without the viewer role is told which role it needs, and a name with a `<script>` in
//! it comes back escaped.

use crate::support::partners::PrivateDemo;
use crate::support::{Server, TEST_TOKEN, block_on, onair, onair_with_stdin};

const PASSWORD: &str = "correct horse battery";

/// `path` posted as a form with `token`: the status and the page.
fn post_form(server: &Server, token: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", server.url))
            .bearer_auth(token)
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

/// The demo channel checked through its page as the bootstrap admin, against `profile` over
/// `hours`.
fn check_demo(server: &Server, profile: &str, hours: &str) -> (u16, String) {
    post_form(
        server,
        TEST_TOKEN,
        "/conformance/channels/demo",
        &[("profile", profile), ("hours", hours)],
    )
}

fn get_page(server: &Server, token: &str, path: &str) -> (u16, String) {
    block_on(async {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", server.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

/// The HTML of the element whose `data-testid` is `id`, up to its closing `</{tag}>`.
fn part<'a>(html: &'a str, id: &str, tag: &str) -> &'a str {
    let start = html
        .find(&format!("data-testid=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id} in {html}"));
    let end = start + html[start..].find(&format!("</{tag}>")).unwrap();
    &html[start..end]
}

/// The rules a findings table lists.
fn rules_in(table: &str) -> Vec<&str> {
    table
        .split("data-rule=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect()
}

/// The outcome the list of rules checked gives `rule`.
fn outcome_of<'a>(html: &'a str, rule: &str) -> &'a str {
    let checked = part(html, "checked", "ul");
    let at = checked
        .find(&format!("<li data-rule=\"{rule}\">"))
        .unwrap_or_else(|| panic!("{rule} was not checked: {checked}"));
    let item = &checked[at..at + checked[at..].find("</li>").unwrap()];
    let badge = &item[item.rfind("\">").unwrap() + 2..];
    badge.trim_end_matches("</span>")
}

/// Adds user `name` with `grant` (role, channel) to the demo copy: its API token.
fn user(env: &[(&str, &str)], name: &str, grant: Option<(&str, &str)>) -> String {
    let mut args = vec!["user", "add", name, "--password-stdin"];
    if let Some((role, channel)) = grant {
        args.extend(["--role", role, "--channel", channel]);
    }
    let added = onair_with_stdin(&args, env, &format!("{PASSWORD}\n"));
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token = onair(&["user", "token", name, "tests"], env);
    assert!(token.status.success());
    String::from_utf8_lossy(&token.stdout).trim().to_owned()
}

#[test]
fn the_report_page_names_the_rules_of_a_failing_check_and_of_a_passing_one_and_why_a_channel_off_air_was_not_checked()
 {
    let demo = PrivateDemo::at(chrono::Utc::now());
    let env = demo.env();
    let server = Server::start_with(
        &["--config", demo.config.to_str().unwrap(), "serve"],
        &env[..2],
    );

    // The page: a form per channel, and per partner for an admin, each partner's own profile
    // its default.
    let (status, html) = get_page(&server, TEST_TOKEN, "/conformance");
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("action=\"/conformance/channels/demo\""),
        "{html}"
    );
    let partners = part(&html, "partners", "table");
    assert!(
        partners.contains("action=\"/conformance/partners/fastplus\""),
        "{partners}"
    );
    assert!(partners.contains("its own (wurl)"), "{partners}");

    // Pluto TV: failed, each finding by its rule, and the rules met listed as passed.
    let (status, html) = check_demo(&server, "pluto", "1");
    assert_eq!(status, 200, "{html}");
    let verdict = part(&html, "verdict", "p");
    assert!(verdict.contains("Failed"), "{verdict}");
    assert!(verdict.contains("against Pluto TV v2.2"), "{verdict}");
    let findings = part(&html, "findings", "table");
    for rule in [
        "pluto.segment-duration-constant",
        "pluto.video-codec",
        "pluto.frame-rate",
    ] {
        assert!(rules_in(findings).contains(&rule), "{rule}: {findings}");
        assert_eq!(outcome_of(&html, rule), "failed");
    }
    assert!(
        findings.contains("a 2 s segment where every segment should be 5 s"),
        "{findings}"
    );
    assert!(findings.contains("Cut every segment to 5 s"), "{findings}");
    assert!(
        findings.contains("<code>360p/ts.m3u8</code> media sequence "),
        "where it was seen: {findings}"
    );
    assert!(
        findings.contains(" starting <time datetime=\"20"),
        "when it was seen: {findings}"
    );
    // A break's first segment carries its SCTE-35 in the stream, as served.
    for rule in [
        "pluto.break-duration-fixed",
        "pluto.window-size",
        "pluto.scte35-in-segments",
    ] {
        assert_eq!(outcome_of(&html, rule), "passed", "{rule}");
    }
    let observed = part(&html, "observed", "dl");
    assert!(observed.contains("<dt>Breaks</dt>"), "{observed}");
    // The form comes back holding what was asked.
    assert!(html.contains("<option value=\"pluto\" selected>"), "{html}");

    // The HLS baseline: passed, every rule checked named.
    let (status, html) = check_demo(&server, "hls", "1");
    assert_eq!(status, 200, "{html}");
    assert!(part(&html, "verdict", "p").contains("Passed"), "{html}");
    for rule in [
        "hls.target-duration",
        "hls.cue-out-closed",
        "hls.epg-continuous",
    ] {
        assert_eq!(outcome_of(&html, rule), "passed", "{rule}");
    }

    // A partner: its own profile by default, a section per channel it carries.
    let (status, html) = post_form(
        &server,
        TEST_TOKEN,
        "/conformance/partners/fastplus",
        &[("profile", ""), ("hours", "1")],
    );
    assert_eq!(status, 200, "{html}");
    let verdict = part(&html, "verdict", "p");
    assert!(
        verdict.contains("partner fastplus against Wurl: 1 channel(s) checked"),
        "{verdict}"
    );
    assert!(
        html.contains("data-testid=\"report\" data-channel=\"demo\""),
        "{html}"
    );
    assert!(html.contains("wurl."), "the rules are Wurl's: {html}");

    // Bad fields: 422, each named at its field, the form holding what was typed.
    let (status, html) = check_demo(&server, "netflix", "1");
    assert_eq!(status, 422, "{html}");
    assert!(
        part(&html, "profile-problem", "span")
            .contains("netflix&#34; is not a profile: hls, pluto, wurl, roku"),
        "{html}"
    );
    let (status, html) = check_demo(&server, "hls", "49");
    assert_eq!(status, 422, "{html}");
    assert!(
        part(&html, "hours-problem", "span").contains("a check observes 1 to 48 hours"),
        "{html}"
    );
    assert!(html.contains("value=\"49\""), "{html}");

    // Off air: nothing to check, and the page says why.
    let off = onair(&["channel", "edit", "demo", "--on-air", "false"], &env);
    assert!(
        off.status.success(),
        "{}",
        String::from_utf8_lossy(&off.stderr)
    );
    let (status, html) = check_demo(&server, "pluto", "1");
    assert_eq!(status, 409, "{html}");
    assert!(
        part(&html, "refusal", "p")
            .contains("channel demo is not on air: there is nothing to check"),
        "{html}"
    );
    assert!(!html.contains("data-testid=\"verdict\""), "{html}");
    let (status, html) = post_form(
        &server,
        TEST_TOKEN,
        "/conformance/partners/fastplus",
        &[("hours", "1")],
    );
    assert_eq!(status, 409, "{html}");
    assert!(
        part(&html, "refusal", "p").contains("carries no channel on air (demo)"),
        "{html}"
    );
}

#[test]
fn a_user_without_the_role_is_told_which_it_needs_and_a_script_in_a_channel_name_comes_back_escaped()
 {
    let demo = PrivateDemo::at(chrono::Utc::now());
    let env = demo.env();
    let viewer = user(&env, "vic", Some(("viewer", "demo")));
    let stranger = user(&env, "nobody", None);
    let evil = "<script>alert('owned')</script>";
    let created = onair(
        &[
            "channel",
            "create",
            "xss",
            "--name",
            evil,
            "--ladder",
            "demo",
            "--off-air",
            "--no-slate",
        ],
        &env,
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let server = Server::start_with(
        &["--config", demo.config.to_str().unwrap(), "serve"],
        &env[..2],
    );

    // No role on the channel: refused, naming the role.
    let (status, html) = post_form(
        &server,
        &stranger,
        "/conformance/channels/demo",
        &[("profile", "hls"), ("hours", "1")],
    );
    assert_eq!(status, 403, "{html}");
    assert!(
        html.contains("this needs the viewer role on channel demo"),
        "{html}"
    );
    // A viewer of the demo checks it, not a partner: that takes an admin on every channel.
    let (status, html) = post_form(
        &server,
        &viewer,
        "/conformance/partners/fastplus",
        &[("hours", "1")],
    );
    assert_eq!(status, 403, "{html}");
    assert!(
        html.contains("this needs the admin role on every channel"),
        "{html}"
    );
    let (status, html) = get_page(&server, &viewer, "/conformance");
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("action=\"/conformance/channels/demo\""),
        "{html}"
    );
    assert!(
        !html.contains("/conformance/channels/xss") && !html.contains("fastplus"),
        "a viewer of the demo sees only the demo: {html}"
    );

    // A script in a channel's name: escaped on the page and on the report page.
    let (status, html) = get_page(&server, TEST_TOKEN, "/conformance");
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("/conformance/channels/xss"), "{html}");
    let (status, report) = post_form(
        &server,
        TEST_TOKEN,
        "/conformance/channels/xss",
        &[("profile", "hls"), ("hours", "1")],
    );
    assert_eq!(status, 409, "off air: {report}");
    for page in [&html, &report] {
        assert!(!page.contains(evil), "the script is unescaped: {page}");
        assert!(
            page.contains("&#60;script&#62;alert(") || page.contains("&lt;script&gt;alert("),
            "the name is shown escaped: {page}"
        );
    }
}
