//! Who may call what, through the real binary: every route `onair serve` answers is in the
//! access table (`onair routes`), and each is tried anonymously, with a role too small and with
//! the right one. Then the session's defences: the cookie's flags, a new id at login (session
//! fixation), CSRF, the login rate limit, two-factor sign-in, and escaping of what users type.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::support;
use crate::support::{
    Server, block_on, copy_demo_database, demo_data_dir, media_of_its_own, onair, onair_with_stdin,
};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// A private copy of the demo database with a user per role, and a server on it.
struct Site {
    _copy: tempfile::TempDir,
    server: Server,
    /// Each user's API token, by username.
    tokens: HashMap<&'static str, String>,
}

/// The users: name, role, channel (None: every channel).
const USERS: &[(&str, Option<&str>, Option<&str>)] = &[
    ("root", Some("admin"), None),
    ("sam", Some("scheduler"), Some("demo")),
    ("ada", Some("ad_ops"), Some("demo")),
    ("vic", Some("viewer"), Some("demo")),
    ("sue", Some("scheduler"), None),
    ("nobody", None, None),
];

impl Site {
    fn new() -> Site {
        // In the target folder beside the shared demo, so that the media can be hard links: the
        // route table deletes the demo channel and then its slate, which others still air.
        let copy = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        copy_demo_database(copy.path());
        let media = media_of_its_own(copy.path());
        let env = env(copy.path(), &media);
        let mut tokens = HashMap::new();
        for (name, role, channel) in USERS {
            let mut args = vec!["user", "add", name, "--password-stdin"];
            if let Some(role) = role {
                args.extend(["--role", role]);
            }
            if let Some(channel) = channel {
                args.extend(["--channel", channel]);
            }
            let added = onair_with_stdin(&args, &env, &format!("{PASSWORD}\n"));
            assert!(added.status.success(), "{}", text(&added.stderr));
            let token = onair(&["user", "token", name, "tests"], &env);
            assert!(token.status.success(), "{}", text(&token.stderr));
            tokens.insert(*name, text(&token.stdout).trim().to_owned());
        }
        let server = Server::start_with(&["serve"], &env);
        Site {
            _copy: copy,
            server,
            tokens,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url)
    }
}

fn env<'a>(data: &'a Path, media: &'a Path) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ONAIR_DATA_DIR", data.to_str().unwrap()),
        ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
    ]
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A client that follows no redirects and sends nothing on its own.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A client that keeps the cookies it is given, like a browser (without following redirects).
#[derive(Clone)]
struct Browser {
    client: reqwest::Client,
    jar: std::sync::Arc<std::sync::Mutex<HashMap<String, String>>>,
}

fn browser() -> Browser {
    Browser {
        client: bare_client(),
        jar: Default::default(),
    }
}

impl Browser {
    fn get(&self, url: String) -> Request {
        self.request(reqwest::Method::GET, url)
    }

    fn post(&self, url: String) -> Request {
        self.request(reqwest::Method::POST, url)
    }

    fn request(&self, method: reqwest::Method, url: String) -> Request {
        let cookies: Vec<String> = self
            .jar
            .lock()
            .unwrap()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let mut builder = self.client.request(method, url);
        if !cookies.is_empty() {
            builder = builder.header("cookie", cookies.join("; "));
        }
        Request {
            builder,
            jar: self.jar.clone(),
        }
    }
}

/// A request on its way from a [`Browser`], which keeps the cookies of its answer.
struct Request {
    builder: reqwest::RequestBuilder,
    jar: std::sync::Arc<std::sync::Mutex<HashMap<String, String>>>,
}

impl Request {
    fn header(self, name: &'static str, value: impl AsRef<str>) -> Request {
        Request {
            builder: self.builder.header(name, value.as_ref()),
            ..self
        }
    }

    fn form<T: serde::Serialize + ?Sized>(self, form: &T) -> Request {
        Request {
            builder: self.builder.form(form),
            ..self
        }
    }

    fn json(self, body: &Value) -> Request {
        Request {
            builder: self.builder.json(body),
            ..self
        }
    }

    async fn send(self) -> reqwest::Result<reqwest::Response> {
        let response = self.builder.send().await?;
        let mut jar = self.jar.lock().unwrap();
        for value in response.headers().get_all("set-cookie") {
            let value = value.to_str().unwrap();
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            let (name, content) = pair.split_once('=').unwrap();
            if content.is_empty() || attributes.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), content.to_owned());
            }
        }
        Ok(response)
    }
}

/// The routes and their policies, as `onair routes --json` lists them.
fn declared_routes() -> Vec<Value> {
    let output = onair(&["routes", "--json"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A concrete path for a route pattern: each parameter given a value that exists in the demo.
fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|part| match part {
            "{slug}" => "demo",
            "{rung}" | "{rendition}" => "360p",
            "{source}" | "{name}" if pattern.contains("/live/") => "studio",
            "{name}" => "demo",
            "{id}" | "{version}" | "{break}" | "{position}" => "1",
            "{part}" => "templates",
            "{file}" if pattern.starts_with("/static") => "onair.css",
            "{file}" => "index.m3u8",
            "{*path}" | "{*rest}" => "no/such/file",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Who lacks the role a policy asks for, though holding another (`None`: no such user).
fn too_small(access: &Value) -> Option<&'static str> {
    let role = access["role"].as_str();
    match (access["kind"].as_str().unwrap(), role) {
        ("public" | "logged_in", _) => None,
        ("on_channel" | "on_any_channel", Some("viewer")) => Some("nobody"),
        ("on_channel" | "on_any_channel", Some("scheduler")) => Some("vic"),
        ("on_channel" | "on_any_channel", Some("ad_ops")) => Some("sam"),
        (_, Some("admin")) => Some("sue"),
        ("on_every_channel", Some("scheduler")) => Some("sam"),
        other => panic!("no user lacks {other:?}"),
    }
}

/// Who holds exactly enough for a policy.
fn enough(access: &Value) -> &'static str {
    match (access["kind"].as_str().unwrap(), access["role"].as_str()) {
        ("public" | "logged_in", _) => "nobody",
        (_, Some("admin")) => "root",
        ("on_every_channel", Some("scheduler")) => "sue",
        (_, Some("scheduler")) => "sam",
        (_, Some("ad_ops")) => "ada",
        (_, Some("viewer")) => "vic",
        other => panic!("no user holds {other:?}"),
    }
}

async fn call(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let method = if method == "*" { "GET" } else { method };
    let mut request = client.request(method.parse().unwrap(), url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if method != "GET" {
        request = request.json(&json!({}));
    }
    request.send().await.unwrap()
}

#[test]
fn every_route_refuses_strangers_and_too_small_roles_and_lets_the_right_role_in() {
    let shared_media = demo_data_dir().join("media");
    let shared_files = files_under(&shared_media);
    let site = Site::new();
    let client = bare_client();
    let mut routes = declared_routes();
    // What removes or rotates goes last, so that it takes nothing from the routes after it.
    routes.sort_by_key(|route| {
        route["method"] == "DELETE" || route["path"].as_str().unwrap().ends_with("rotate-key")
    });
    let mut failures = Vec::new();
    block_on(async {
        for route in &routes {
            let method = route["method"].as_str().unwrap();
            let pattern = route["path"].as_str().unwrap();
            let access = &route["access"];
            let url = site.url(&concrete(pattern));
            let what = format!("{method} {pattern} ({access})");

            let anonymous = call(&client, method, &url, None).await;
            let status = anonymous.status();
            if access["kind"] == "public" {
                if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                    failures.push(format!("{what}: public, but {status} to a stranger"));
                }
                continue;
            }
            let is_page = !pattern.starts_with("/api");
            let redirected_to_login = status == StatusCode::SEE_OTHER
                && anonymous.headers()["location"]
                    .to_str()
                    .unwrap()
                    .starts_with("/login?next=");
            let expected = if is_page && method == "GET" {
                redirected_to_login
            } else {
                status == StatusCode::UNAUTHORIZED
            };
            if !expected {
                failures.push(format!("{what}: {status} to a stranger"));
            }

            if let Some(user) = too_small(access) {
                let status = call(&client, method, &url, Some(&site.tokens[user])).await;
                let status = status.status();
                if status != StatusCode::FORBIDDEN {
                    failures.push(format!(
                        "{what}: {status} to {user}, whose role is too small"
                    ));
                }
            }

            let user = enough(access);
            let allowed = call(&client, method, &url, Some(&site.tokens[user])).await;
            let status = allowed.status();
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                let body = allowed.text().await.unwrap_or_default();
                failures.push(format!(
                    "{what}: {status} to {user}, who has the role: {body}"
                ));
            }
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        files_under(&shared_media),
        shared_files,
        "the routes that delete took nothing from the demo media the other tests share"
    );
}

/// How many files are under `dir`, at any depth.
fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                files_under(&entry.path())
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn a_forbidden_answer_names_the_role_needed_and_a_wrong_method_the_methods_taken() {
    let site = Site::new();
    block_on(async {
        let response = bare_client()
            .put(site.url("/api/channels/demo/schedule"))
            .bearer_auth(&site.tokens["vic"])
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["error"],
            "this needs the scheduler role on channel demo"
        );
        // A method the route does not take is the caller's mistake: 405 naming those it takes.
        let response = bare_client()
            .patch(site.url("/api/channels/demo/schedule"))
            .bearer_auth(&site.tokens["root"])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        let allow = response.headers()["allow"].to_str().unwrap().to_owned();
        assert!(allow.contains("GET") && allow.contains("PUT"), "{allow}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["error"],
            format!("PATCH is not a method of this route; it takes {allow}")
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Every route in the code has a policy

/// The `.rs` files of the workspace's crates, tests left out.
fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut stack = vec![root.join("src")];
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        let src = entry.path().join("src");
        if entry.path().join("Cargo.toml").is_file() && src.is_dir() {
            stack.push(src);
        }
    }
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().unwrap() != "tests" {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|ext| ext == "rs")
                && path.file_name().unwrap() != "tests.rs"
            {
                files.push(path);
            }
        }
    }
    files
}

/// The text between the parenthesis at `open` and its match.
fn call_text(text: &str, open: usize) -> &str {
    let mut depth = 0;
    for (offset, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open..open + offset];
                }
            }
            _ => {}
        }
    }
    &text[open..]
}

/// Every (method, path) the code registers with `.route(…)` or `.nest_service(…)`.
fn registered_routes() -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for file in sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        // Test modules at the end of a file build routers of their own.
        let text = text.split("#[cfg(test)]").next().unwrap();
        for (marker, nested) in [(".route(", false), (".nest_service(", true)] {
            for (at, _) in text.match_indices(marker) {
                let open = at + marker.len() - 1;
                let args = call_text(text, open);
                let first = args[1..].trim_start();
                let path = if let Some(rest) = first.strip_prefix('"') {
                    rest[..rest.find('"').unwrap()].to_owned()
                } else {
                    let name: String = first
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    let definition = format!("const {name}: &str = \"");
                    let start = text
                        .find(&definition)
                        .unwrap_or_else(|| panic!("{}: cannot resolve {name}", file.display()))
                        + definition.len();
                    text[start..start + text[start..].find('"').unwrap()].to_owned()
                };
                if nested {
                    found.insert(("GET".to_owned(), format!("{path}/{{*path}}")));
                    continue;
                }
                let mut methods = 0;
                for (method, call) in [
                    ("GET", "get("),
                    ("POST", "post("),
                    ("PUT", "put("),
                    ("PATCH", "patch("),
                    ("DELETE", "delete("),
                    ("*", "any("),
                ] {
                    let mut from = 0;
                    while let Some(index) = args[from..].find(call) {
                        let index = from + index;
                        let before = args[..index].chars().last().unwrap_or(' ');
                        if !before.is_alphanumeric() && before != '_' {
                            found.insert((method.to_owned(), path.clone()));
                            methods += 1;
                            break;
                        }
                        from = index + call.len();
                    }
                }
                assert!(methods > 0, "{}: no method for {path}", file.display());
            }
        }
    }
    found
}

#[test]
fn every_route_the_code_registers_has_a_declared_policy_and_every_policy_a_route() {
    let declared: BTreeSet<(String, String)> = declared_routes()
        .iter()
        .map(|route| {
            (
                route["method"].as_str().unwrap().to_owned(),
                route["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let registered = registered_routes();
    assert!(registered.len() > 60, "found only {registered:?}");
    let undeclared: Vec<_> = registered.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "routes without an access policy (add them to web-ui/src/access/routes.rs): {undeclared:?}"
    );
    let stale: Vec<_> = declared.difference(&registered).collect();
    assert!(
        stale.is_empty(),
        "policies for routes that no longer exist: {stale:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// Logs `user` in through the login form; the answer.
async fn log_in(site: &Site, client: &Browser, user: &str, password: &str) -> reqwest::Response {
    client
        .post(site.url("/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("username", user),
            ("password", password),
            ("next", "/account"),
        ])
        .send()
        .await
        .unwrap()
}

/// The `Set-Cookie` header that sets `name`.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with(&format!("{name}=")))
}

/// The CSRF token a page carries in its `<meta name="csrf-token">`.
async fn csrf_of(site: &Site, client: &Browser, path: &str) -> String {
    let html = client
        .get(site.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = html.find("name=\"csrf-token\" content=\"").unwrap() + 27;
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

#[test]
fn a_login_sets_a_new_http_only_session_and_the_one_planted_before_is_worth_nothing() {
    let site = Site::new();
    block_on(async {
        // An attacker plants a session id in the victim's browser before the login.
        let planted = "planted-session-id-0123456789";
        let client = bare_client();
        let response = client
            .post(site.url("/login"))
            .header("cookie", format!("onair_session={planted}"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("username", "sam"), ("password", PASSWORD), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/");
        let cookie = set_cookie(response.headers(), "onair_session").unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
        let token = cookie["onair_session=".len()..cookie.find(';').unwrap()].to_owned();
        assert_ne!(token, planted);
        let me = |session: String| {
            let client = client.clone();
            let url = site.url("/api/me");
            async move {
                client
                    .get(url)
                    .header("cookie", format!("onair_session={session}"))
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(me(token.clone()).await, StatusCode::OK);
        assert_eq!(me(planted.to_owned()).await, StatusCode::UNAUTHORIZED);

        // Behind a TLS proxy the cookie is Secure.
        let response = client
            .post(site.url("/login"))
            .header("x-forwarded-proto", "https")
            .form(&[("username", "sam"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        let cookie = set_cookie(response.headers(), "onair_session").unwrap();
        assert!(cookie.contains("; Secure"), "{cookie}");

        // Logging out ends the session on the server, not only in the browser.
        let response = client
            .post(site.url("/logout"))
            .header("cookie", format!("onair_session={token}"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("csrf", csrf_with(&site, &token).await)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(me(token).await, StatusCode::UNAUTHORIZED);
    });
}

/// The CSRF token of the session `token`, read from a page.
async fn csrf_with(site: &Site, token: &str) -> String {
    let client = browser();
    client
        .jar
        .lock()
        .unwrap()
        .insert("onair_session".to_owned(), token.to_owned());
    csrf_of(site, &client, "/account").await
}

#[test]
fn a_forged_or_cross_site_request_is_refused_and_changes_nothing() {
    let site = Site::new();
    block_on(async {
        let client = browser();
        assert_eq!(
            log_in(&site, &client, "sam", PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        let csrf = csrf_of(&site, &client, "/account").await;
        let versions = || async {
            let response = client
                .get(site.url("/api/channels/demo/schedule/versions"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.text().await.unwrap()
        };
        let before = versions().await;
        let copy = |headers: Vec<(&'static str, String)>| {
            let mut request = client
                .post(site.url("/api/channels/demo/schedule/copy"))
                .json(&json!({"from": "2026-01-01", "to": "2026-01-02"}));
            for (name, value) in headers {
                request = request.header(name, value);
            }
            async move {
                let response = request.send().await.unwrap();
                let status = response.status();
                (status, response.text().await.unwrap())
            }
        };
        // No token.
        let (status, body) = copy(vec![("sec-fetch-site", "same-origin".into())]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("CSRF token"), "{body}");
        // A wrong token.
        let (status, _) = copy(vec![
            ("sec-fetch-site", "same-origin".into()),
            ("x-csrf-token", "not-the-token".into()),
        ])
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // The right token, from another site.
        let (status, body) = copy(vec![
            ("sec-fetch-site", "cross-site".into()),
            ("x-csrf-token", csrf.clone()),
        ])
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("cross-site"), "{body}");
        let (status, _) = copy(vec![
            ("origin", "https://evil.example".into()),
            ("x-csrf-token", csrf.clone()),
        ])
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(versions().await, before, "nothing changed");
        // The right token from our own pages passes the guard (the copy itself is then judged
        // by the control plane).
        let (status, body) = copy(vec![
            ("sec-fetch-site", "same-origin".into()),
            ("x-csrf-token", csrf),
        ])
        .await;
        assert!(
            status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
            "{status}: {body}"
        );
        // A login form posted from another site is refused too (login CSRF).
        let response = bare_client()
            .post(site.url("/login"))
            .header("sec-fetch-site", "cross-site")
            .form(&[("username", "sam"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(set_cookie(response.headers(), "onair_session").is_none());
    });
}

#[test]
fn brute_force_is_stopped_after_five_wrong_passwords_with_retry_after() {
    let site = Site::new();
    block_on(async {
        let client = browser();
        for attempt in 1..=5 {
            let response = log_in(&site, &client, "vic", "wrong password!").await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "attempt {attempt}"
            );
            let html = response.text().await.unwrap();
            assert!(html.contains("wrong username or password"), "{html}");
        }
        // The right password, too late.
        let response = log_in(&site, &client, "vic", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
        assert!(set_cookie(response.headers(), "onair_session").is_none());
        // Another user is not locked out by it.
        let response = log_in(&site, &client, "sam", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    });
}

/// The TOTP step of now.
fn step_now() -> i64 {
    chrono::Utc::now().timestamp() / 30
}

/// The TOTP code of a base32 secret at `step`.
fn totp(secret: &str, step: i64) -> String {
    onair_control::accounts::totp::code_at_step(&base32_decode(secret), step)
}

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())
            .unwrap() as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// The text of the element with `id` in `html` (the first `<code id=…>`).
fn element_text(html: &str, id: &str) -> String {
    let start = html.find(&format!("id=\"{id}\">")).unwrap() + id.len() + 6;
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

#[test]
fn two_factor_sign_in_is_set_up_on_the_account_page_and_asked_for_at_the_next_login() {
    let site = Site::new();
    block_on(async {
        let client = browser();
        assert_eq!(
            log_in(&site, &client, "ada", PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        let csrf = csrf_of(&site, &client, "/account").await;
        let page = client
            .post(site.url("/account/totp"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("<svg"), "a QR code for the app");
        let secret = element_text(&html, "totp-secret");
        let wrong = client
            .post(site.url("/account/totp/confirm"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("csrf", csrf.as_str()), ("code", "000000")])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let confirmed_step = step_now();
        let confirmed = client
            .post(site.url("/account/totp/confirm"))
            .header("sec-fetch-site", "same-origin")
            .form(&[
                ("csrf", csrf.as_str()),
                ("code", &totp(&secret, confirmed_step)),
            ])
            .send()
            .await
            .unwrap();
        let html = confirmed.text().await.unwrap();
        assert!(html.contains("Two-factor sign-in is on"), "{html}");

        // The next login asks for a code before it gives a session.
        let fresh = browser();
        let response = log_in(&site, &fresh, "ada", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(
            response.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login/code")
        );
        assert!(
            set_cookie(response.headers(), "onair_session")
                .is_some_and(|cookie| cookie.contains("Max-Age=0"))
        );
        let me = fresh.get(site.url("/api/me")).send().await.unwrap();
        assert_eq!(
            me.status(),
            StatusCode::UNAUTHORIZED,
            "the password alone gives nothing"
        );
        // The code just used on the account page is spent; the next step's is accepted (the
        // app's clock may run a step ahead).
        let send_code = |step: i64| {
            fresh
                .post(site.url("/login/code"))
                .header("sec-fetch-site", "same-origin")
                .form(&[
                    ("code", totp(&secret, step)),
                    ("next", "/account".to_owned()),
                ])
                .send()
        };
        let spent = send_code(confirmed_step).await.unwrap();
        assert_eq!(
            spent.status(),
            StatusCode::UNAUTHORIZED,
            "a code passes once"
        );
        let response = send_code(confirmed_step + 1).await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/account");
        let me: Value = fresh
            .get(site.url("/api/me"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["username"], "ada");
        assert_eq!(me["two_factor"], "on");
    });
}

#[test]
fn what_users_type_is_escaped_on_every_page() {
    let site = Site::new();
    block_on(async {
        // In every field a user types: a channel's name, a programme's title and its details.
        let evil = "<script>alert('owned')</script>";
        let api = |request: reqwest::RequestBuilder| request.bearer_auth(&site.tokens["root"]);
        // A channel named with a script, and a programme titled with one, tomorrow at noon.
        let created = api(bare_client().post(site.url("/api/channels")))
            .json(&json!({ "slug": "xss", "name": evil, "ladder": "demo" }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            created.status(),
            StatusCode::CREATED,
            "{}",
            created.text().await.unwrap()
        );
        let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
        let assets: Value = api(bare_client().get(site.url("/api/assets?state=ready")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let asset = assets["assets"][0]["id"].as_i64().unwrap();
        let put = api(bare_client().put(site.url("/api/channels/xss/schedule")))
            .json(&json!({
                "from": format!("{tomorrow}T00:00:00Z"),
                "to": format!("{}T00:00:00Z", tomorrow.succ_opt().unwrap()),
                "version": 0,
                "items": [{"asset_id": asset, "start": format!("{tomorrow}T12:00:00Z"),
                           "hard_start": true, "title": evil, "ad_breaks": [],
                           "info": {"title": evil, "episode_title": evil, "description": evil,
                                    "genres": [evil], "rating": {"system": evil, "value": evil}}}],
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            put.status(),
            StatusCode::OK,
            "{}",
            put.text().await.unwrap()
        );

        let client = browser();
        log_in(&site, &client, "root", PASSWORD).await;
        let guide = format!("/guide/xss?date={tomorrow}");
        // The grid's table and its script data, and the asset's page, list the programme
        // details too.
        let grid = format!("/grid/xss?date={tomorrow}");
        let library = format!("/library/{asset}");
        // The pages follow the database within a refresh of the plans.
        for page in [
            "/",
            guide.as_str(),
            grid.as_str(),
            library.as_str(),
            "/ads/xss",
            "/users",
            "/account",
        ] {
            let mut html = String::new();
            for _ in 0..60 {
                html = client
                    .get(site.url(page))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                if html.contains("alert(") || page == "/users" || page == "/account" {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            assert!(!html.contains(evil), "{page} shows the script unescaped");
            assert!(!html.contains("alert('owned')</script>"), "{page}");
            if page != "/users" && page != "/account" {
                assert!(
                    html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
                    "{page} shows the name escaped: {html}"
                );
            }
        }
        // A username in the login form is echoed escaped.
        let response = log_in(&site, &browser(), evil, "whatever it is").await;
        let html = response.text().await.unwrap();
        assert!(!html.contains(evil), "{html}");
    });
}

#[test]
fn an_admin_adds_a_user_and_grants_a_role_on_the_users_page_and_the_last_admin_stays() {
    let site = Site::new();
    block_on(async {
        let admin = browser();
        assert_eq!(
            log_in(&site, &admin, "root", PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        let csrf = csrf_of(&site, &admin, "/users").await;
        let post = |path: &str, form: Vec<(&str, &str)>| {
            let mut fields = vec![("csrf", csrf.as_str())];
            fields.extend(form);
            admin
                .post(site.url(path))
                .header("sec-fetch-site", "same-origin")
                .form(&fields)
                .send()
        };
        let added = post(
            "/users",
            vec![
                ("username", "Zoe"),
                ("password", PASSWORD),
                ("role", "viewer"),
                ("channel", "demo"),
            ],
        )
        .await
        .unwrap();
        assert_eq!(added.status(), StatusCode::SEE_OTHER);
        let granted = post(
            "/users/zoe/roles",
            vec![("role", "scheduler"), ("channel", "demo")],
        )
        .await
        .unwrap();
        assert_eq!(granted.status(), StatusCode::SEE_OTHER);
        let page = admin.get(site.url("/users")).send().await.unwrap();
        let html = page.text().await.unwrap();
        assert!(html.contains("data-user=\"zoe\""), "{html}");

        // Zoe logs in and may now edit the demo channel's schedule, and nothing else.
        let zoe = browser();
        assert_eq!(
            log_in(&site, &zoe, "zoe", PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        let me: Value = zoe
            .get(site.url("/api/me"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let roles: Vec<&str> = me["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|grant| grant["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["scheduler", "viewer"]);
        let users = zoe.get(site.url("/users")).send().await.unwrap();
        assert_eq!(users.status(), StatusCode::FORBIDDEN);

        // A refusal is shown on the page: a short password, the last admin disabled.
        let short = post(
            "/users",
            vec![("username", "yan"), ("password", "short"), ("role", "")],
        )
        .await
        .unwrap();
        assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = short.text().await.unwrap();
        assert!(html.contains("at least 10 characters"), "{html}");
        assert!(
            html.contains("value=\"yan\""),
            "the form keeps what was typed"
        );
        // Every other user disabled (the shared demo database may hold other admins)...
        let listed = admin.get(site.url("/users")).send().await.unwrap();
        let html = listed.text().await.unwrap();
        for name in html.split("data-user=\"").skip(1) {
            let name = &name[..name.find('"').unwrap()];
            if name != "root" {
                let disabled = post(&format!("/users/{name}/disable"), vec![])
                    .await
                    .unwrap();
                assert_eq!(disabled.status(), StatusCode::SEE_OTHER, "{name}");
            }
        }
        // ...root is the last admin on every channel, and stays.
        let last = post("/users/root/disable", vec![]).await.unwrap();
        assert_eq!(last.status(), StatusCode::CONFLICT);
        let me = admin.get(site.url("/api/me")).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::OK, "root is still in");
    });
}

#[test]
fn ad_ops_edits_the_ad_settings_on_the_ads_page_with_every_problem_named_and_stale_edits_refused() {
    let site = Site::new();
    block_on(async {
        let ada = browser();
        log_in(&site, &ada, "ada", PASSWORD).await;
        let page = ada.get(site.url("/ads/demo")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("demo-ads/vast.xml"), "the demo's tag: {html}");
        let field = |name: &str| {
            let start = html.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
            html[start..start + html[start..].find('"').unwrap()].to_owned()
        };
        let version = field("version");
        let csrf = csrf_of(&site, &ada, "/ads/demo").await;
        let form = |version: &str, tag: &str, lead: &str| {
            vec![
                ("csrf".to_owned(), csrf.clone()),
                ("version".to_owned(), version.to_owned()),
                ("enabled".to_owned(), "on".to_owned()),
                ("tag".to_owned(), tag.to_owned()),
                ("kind".to_owned(), "vast".to_owned()),
                ("insertion".to_owned(), "stitched".to_owned()),
                ("lead_seconds".to_owned(), lead.to_owned()),
                ("freeze_seconds".to_owned(), "8".to_owned()),
                ("timeout_ms".to_owned(), "3000".to_owned()),
                ("max_wrappers".to_owned(), "5".to_owned()),
                ("max_response_kib".to_owned(), "2048".to_owned()),
                ("max_ads_per_break".to_owned(), "8".to_owned()),
                ("session_idle_seconds".to_owned(), "300".to_owned()),
                ("allow_private".to_owned(), "on".to_owned()),
            ]
        };
        let save = |fields: Vec<(String, String)>| {
            ada.post(site.url("/ads/demo"))
                .header("sec-fetch-site", "same-origin")
                .form(&fields)
                .send()
        };
        // Two problems at once, each named by its field; nothing is stored.
        let refused = save(form(&version, "ftp://ads.example/<vast>", "soon"))
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = refused.text().await.unwrap();
        assert!(html.contains("<code>lead_seconds</code>"), "{html}");
        assert!(
            html.contains("ftp://ads.example/&#60;vast&#62;")
                || html.contains("ftp://ads.example/&lt;vast&gt;"),
            "the form keeps what was typed, escaped"
        );
        // A good edit is stored as the next version.
        let tag = "https://ads.example/vast?c=[CACHEBUSTING]";
        let saved = save(form(&version, tag, "60")).await.unwrap();
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        let current: Value = support::client()
            .get(site.url("/api/channels/demo/ads"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(current["config"]["tag"], tag);
        assert_eq!(current["author"], "ada");
        // The same old version again: someone saved meanwhile.
        let stale = save(form(&version, "https://other.example/vast", "60"))
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::CONFLICT);
        assert!(stale.text().await.unwrap().contains("reload"));
        // A scheduler of the channel may not see the page at all.
        let sam = browser();
        log_in(&site, &sam, "sam", PASSWORD).await;
        let page = sam.get(site.url("/ads/demo")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::FORBIDDEN);
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("this needs the ad_ops role on channel demo")
        );
    });
}

#[test]
fn a_cors_preflight_for_a_viewer_session_is_answered_by_the_route_not_refused() {
    let site = Site::new();
    block_on(async {
        let preflight = bare_client()
            .request(
                reqwest::Method::OPTIONS,
                site.url("/channels/demo/sessions"),
            )
            .header("origin", "https://publisher.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        assert!(preflight.status().is_success(), "{}", preflight.status());
        assert!(
            preflight
                .headers()
                .contains_key("access-control-allow-origin"),
            "{:?}",
            preflight.headers()
        );
        // A preflight opens nothing by itself: the API still wants credentials.
        let api = bare_client()
            .get(site.url("/api/channels"))
            .header("origin", "https://publisher.example")
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    });
}
