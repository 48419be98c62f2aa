//! Accounts on a SQLite store in memory, each step at a fixed instant: a new [`Accounts`] on
//! the same store per instant, so time moves only where a test says.

use std::net::IpAddr;
use std::sync::Arc;

use onair_domain::{Channel, ChannelSlug, FixedClock, Ladder, OutputFormat, Timestamp};
use onair_store::{NewChannel, Store};

use super::secrets::from_base32;
use super::*;

/// A step boundary of TOTP's 30 s grid.
const T0: i64 = 1_790_000_010;
const PASSWORD: &str = "correct horse battery";

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(T0 + secs)
}

fn peer(text: &str) -> IpAddr {
    text.parse().unwrap()
}

struct Setup {
    store: Store,
}

impl Setup {
    async fn new() -> Setup {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        Setup { store }
    }

    /// The accounts with the clock at `secs` after [`T0`].
    fn at(&self, secs: i64) -> Accounts {
        Accounts::new(self.store.clone(), Arc::new(FixedClock(at(secs))))
    }

    async fn channel(&self, slug: &str) -> Channel {
        let ladder = match self.store.ladder_by_name("demo").await.unwrap() {
            Some(ladder) => ladder.id,
            None => self.store.insert_ladder(&Ladder::demo()).await.unwrap(),
        };
        self.store
            .insert_channel(&NewChannel {
                slug: ChannelSlug::parse(slug).unwrap(),
                name: slug.to_owned(),
                time_zone: chrono_tz::UTC,
                ladder_id: ladder,
                outputs: vec![OutputFormat::HlsTs],
                window_segments: 6,
                grid_repeat: None,
                on_air: true,
            })
            .await
            .unwrap()
    }

    async fn user(&self, name: &str, roles: &[(Role, Option<&str>)]) {
        self.at(0).add_user(name, PASSWORD, roles).await.unwrap();
    }
}

fn session_token(login: Login) -> String {
    match login {
        Login::Session { token, .. } => token,
        other => panic!("expected a session, got {other:?}"),
    }
}

fn pending_token(login: Login) -> String {
    match login {
        Login::SecondFactor { pending, .. } => pending,
        other => panic!("expected a second factor to be asked, got {other:?}"),
    }
}

/// Two-factor sign-in on for `name`, confirmed at [`T0`]: the secret and the recovery codes.
async fn with_totp(setup: &Setup, name: &str) -> (Vec<u8>, Vec<String>) {
    let enrolment = setup.at(0).enable_totp(name).await.unwrap();
    assert!(
        enrolment.otpauth_uri.starts_with(&format!(
            "otpauth://totp/onair:{name}?secret={}&",
            enrolment.secret
        )),
        "{}",
        enrolment.otpauth_uri
    );
    assert_eq!(enrolment.recovery_codes.len(), 10);
    let secret = from_base32(&enrolment.secret).unwrap();
    let wrong = setup.at(0).confirm_totp(name, "000000").await;
    assert!(matches!(wrong, Err(Refusal::Invalid(_))), "{wrong:?}");
    let code = totp::code_at_step(&secret, totp::step_at(at(0)));
    setup.at(0).confirm_totp(name, &code).await.unwrap();
    assert_eq!(setup.at(0).user(name).await.unwrap().two_factor, "on");
    (secret, enrolment.recovery_codes)
}

fn code_at(secret: &[u8], secs: i64) -> String {
    totp::code_at_step(secret, totp::step_at(at(secs)))
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_refusal() {
    let setup = Setup::new().await;
    setup.user("ann", &[(Role::Viewer, None)]).await;
    let here = peer("192.0.2.1");
    let wrong_password = setup
        .at(1)
        .login("ann", "not her password", here)
        .await
        .unwrap_err();
    let unknown_user = setup.at(2).login("bob", PASSWORD, here).await.unwrap_err();
    assert_eq!(wrong_password, LoginRefusal::WrongUsernameOrPassword);
    assert_eq!(unknown_user, wrong_password);
    assert_eq!(wrong_password.to_string(), "wrong username or password");

    // A disabled user with the right password is refused alike.
    setup.user("carl", &[(Role::Admin, None)]).await;
    setup.at(3).disable_user("ann").await.unwrap();
    assert_eq!(
        setup.at(4).login("ann", PASSWORD, here).await.unwrap_err(),
        LoginRefusal::WrongUsernameOrPassword
    );
    setup.at(5).enable_user("ann").await.unwrap();
    // In any case, with spaces around.
    session_token(setup.at(6).login(" ANN ", PASSWORD, here).await.unwrap());
}

#[tokio::test]
async fn the_sixth_try_after_five_failures_is_refused_and_says_when_to_try_again() {
    let setup = Setup::new().await;
    setup.user("ann", &[]).await;
    let here = peer("192.0.2.1");
    for second in 0..5 {
        assert_eq!(
            setup
                .at(second)
                .login("ann", "guess", here)
                .await
                .unwrap_err(),
            LoginRefusal::WrongUsernameOrPassword
        );
    }
    // Even with the right password: the first failure leaves the window at 900 s.
    let refused = setup.at(10).login("ann", PASSWORD, here).await.unwrap_err();
    assert_eq!(
        refused,
        LoginRefusal::TooManyFailures {
            retry_after_secs: 890
        }
    );
    assert_eq!(
        refused.to_string(),
        "too many failed logins: try again in 890 s"
    );
    // From another address too: the username is limited, wherever the guesses come from.
    assert!(matches!(
        setup
            .at(10)
            .login("ann", PASSWORD, peer("198.51.100.9"))
            .await,
        Err(LoginRefusal::TooManyFailures { .. })
    ));
    assert_eq!(
        setup
            .at(900)
            .login("ann", PASSWORD, here)
            .await
            .unwrap_err(),
        LoginRefusal::TooManyFailures {
            retry_after_secs: 1
        }
    );
    // Once the first failure is out of the window, the right password logs in and the
    // username's failures are forgotten.
    session_token(setup.at(901).login("ann", PASSWORD, here).await.unwrap());
    for second in 902..906 {
        assert!(setup.at(second).login("ann", "guess", here).await.is_err());
    }
    assert_eq!(
        setup.at(906).login("ann", "guess", here).await.unwrap_err(),
        LoginRefusal::WrongUsernameOrPassword
    );
}

#[tokio::test]
async fn one_address_trying_many_usernames_is_limited_after_twenty_failures() {
    let setup = Setup::new().await;
    setup.user("ann", &[]).await;
    let guesser = peer("2001:db8:7:7::1");
    for n in 0..20 {
        let refused = setup
            .at(n)
            .login(&format!("user{n}"), "guess", guesser)
            .await
            .unwrap_err();
        assert_eq!(refused, LoginRefusal::WrongUsernameOrPassword);
    }
    // The same /64, another address in it.
    assert_eq!(
        setup
            .at(30)
            .login("ann", PASSWORD, peer("2001:db8:7:7::2"))
            .await
            .unwrap_err(),
        LoginRefusal::TooManyFailures {
            retry_after_secs: 870
        }
    );
    session_token(
        setup
            .at(30)
            .login("ann", PASSWORD, peer("192.0.2.1"))
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn a_totp_code_turns_the_pending_login_into_a_new_session_once() {
    let setup = Setup::new().await;
    setup.user("ann", &[(Role::Scheduler, None)]).await;
    let (secret, _codes) = with_totp(&setup, "ann").await;
    let here = peer("192.0.2.1");

    let pending = pending_token(setup.at(100).login("ann", PASSWORD, here).await.unwrap());
    // Pending grants nothing.
    assert_eq!(setup.at(100).session(&pending).await.unwrap(), None);
    assert_eq!(
        setup
            .at(101)
            .second_factor(&pending, "123456x", here)
            .await
            .unwrap_err(),
        LoginRefusal::WrongCode
    );
    // The code of the step before is still accepted (a late finger).
    let token = session_token(
        setup
            .at(101)
            .second_factor(&pending, &code_at(&secret, 101 - 30), here)
            .await
            .unwrap(),
    );
    assert_ne!(token, pending);
    let session = setup.at(102).session(&token).await.unwrap().unwrap();
    assert_eq!(session.principal.username, "ann");
    assert_eq!(session.principal.grants, [(None, Role::Scheduler)]);
    // The pending id is gone: it cannot be passed twice.
    assert_eq!(
        setup
            .at(102)
            .second_factor(&pending, &code_at(&secret, 102), here)
            .await
            .unwrap_err(),
        LoginRefusal::LoginExpired
    );

    // A code is accepted once: the next login needs the next step's code.
    let pending = pending_token(setup.at(103).login("ann", PASSWORD, here).await.unwrap());
    assert_eq!(
        setup
            .at(103)
            .second_factor(&pending, &code_at(&secret, 71), here)
            .await
            .unwrap_err(),
        LoginRefusal::WrongCode
    );
    session_token(
        setup
            .at(103)
            .second_factor(&pending, &code_at(&secret, 103), here)
            .await
            .unwrap(),
    );

    // A pending login expires after five minutes.
    let pending = pending_token(setup.at(200).login("ann", PASSWORD, here).await.unwrap());
    assert_eq!(
        setup
            .at(200 + 300)
            .second_factor(&pending, &code_at(&secret, 500), here)
            .await
            .unwrap_err(),
        LoginRefusal::LoginExpired
    );

    // Off again, logins give a session at once.
    setup.at(600).disable_totp("ann").await.unwrap();
    session_token(setup.at(601).login("ann", PASSWORD, here).await.unwrap());
}

#[tokio::test]
async fn wrong_codes_count_as_failed_logins() {
    let setup = Setup::new().await;
    setup.user("ann", &[]).await;
    let (secret, _codes) = with_totp(&setup, "ann").await;
    let here = peer("192.0.2.1");
    let pending = pending_token(setup.at(100).login("ann", PASSWORD, here).await.unwrap());
    for second in 101..106 {
        assert_eq!(
            setup
                .at(second)
                .second_factor(&pending, "000000", here)
                .await
                .unwrap_err(),
            LoginRefusal::WrongCode
        );
    }
    assert!(matches!(
        setup
            .at(106)
            .second_factor(&pending, &code_at(&secret, 106), here)
            .await,
        Err(LoginRefusal::TooManyFailures { .. })
    ));
}

#[tokio::test]
async fn a_recovery_code_stands_in_for_a_totp_code_once() {
    let setup = Setup::new().await;
    setup.user("ann", &[]).await;
    let (_secret, codes) = with_totp(&setup, "ann").await;
    let here = peer("192.0.2.1");
    assert_eq!(setup.at(1).recovery_codes_left("ann").await.unwrap(), 10);

    let pending = pending_token(setup.at(10).login("ann", PASSWORD, here).await.unwrap());
    // Typed in capitals with spaces: the same code.
    let typed = codes[3].to_uppercase().replace('-', " ");
    session_token(
        setup
            .at(11)
            .second_factor(&pending, &typed, here)
            .await
            .unwrap(),
    );
    assert_eq!(setup.at(12).recovery_codes_left("ann").await.unwrap(), 9);

    let pending = pending_token(setup.at(20).login("ann", PASSWORD, here).await.unwrap());
    assert_eq!(
        setup
            .at(21)
            .second_factor(&pending, &codes[3], here)
            .await
            .unwrap_err(),
        LoginRefusal::WrongCode
    );
    session_token(
        setup
            .at(22)
            .second_factor(&pending, &codes[4], here)
            .await
            .unwrap(),
    );

    // Turning it on again is refused while it is on; off and on gives new codes.
    assert!(matches!(
        setup.at(30).enable_totp("ann").await,
        Err(Refusal::Conflict(_))
    ));
    setup.at(31).disable_totp("ann").await.unwrap();
    assert_eq!(setup.at(31).user("ann").await.unwrap().two_factor, "off");
    let again = setup.at(32).enable_totp("ann").await.unwrap();
    assert_eq!(
        setup.at(32).user("ann").await.unwrap().two_factor,
        "pending"
    );
    assert!(
        again
            .recovery_codes
            .iter()
            .all(|code| !codes.contains(code))
    );
    // Not confirmed yet: logins do not ask for a code.
    session_token(setup.at(33).login("ann", PASSWORD, here).await.unwrap());
}

#[tokio::test]
async fn a_session_ends_twelve_hours_after_its_last_use_or_seven_days_after_login() {
    let setup = Setup::new().await;
    setup.user("ann", &[]).await;
    let here = peer("192.0.2.1");
    let hour = 3_600;

    let token = session_token(setup.at(0).login("ann", PASSWORD, here).await.unwrap());
    let seen = setup.at(11 * hour).session(&token).await.unwrap().unwrap();
    assert_eq!(seen.idle_expires_at, at(23 * hour));
    assert_eq!(seen.expires_at, at(7 * 24 * hour));
    // Used again within the minute: its last use is not written again.
    let again = setup
        .at(11 * hour + 30)
        .session(&token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.idle_expires_at, at(23 * hour));
    assert!(
        setup
            .at(23 * hour - 1)
            .session(&token)
            .await
            .unwrap()
            .is_some()
    );
    assert!(setup.at(35 * hour).session(&token).await.unwrap().is_none());
    // Gone for good, even if the clock went back.
    assert!(setup.at(24 * hour).session(&token).await.unwrap().is_none());

    // Used every eleven hours, it still ends seven days after the login.
    let token = session_token(setup.at(0).login("ann", PASSWORD, here).await.unwrap());
    let mut now = 0;
    while now + 11 * hour < 7 * 24 * hour {
        now += 11 * hour;
        let session = setup.at(now).session(&token).await.unwrap().unwrap();
        assert!(session.idle_expires_at <= at(7 * 24 * hour));
    }
    assert!(
        setup
            .at(7 * 24 * hour - 1)
            .session(&token)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        setup
            .at(7 * 24 * hour)
            .session(&token)
            .await
            .unwrap()
            .is_none()
    );

    // Expired sessions are purged.
    session_token(setup.at(0).login("ann", PASSWORD, here).await.unwrap());
    assert!(setup.at(13 * hour).purge_expired_sessions().await.unwrap() >= 1);
}

#[tokio::test]
async fn logout_ends_one_session_and_a_new_password_ends_them_all() {
    let setup = Setup::new().await;
    setup.user("ann", &[]).await;
    let here = peer("192.0.2.1");
    let first = session_token(setup.at(0).login("ann", PASSWORD, here).await.unwrap());
    let second = session_token(setup.at(1).login("ann", PASSWORD, here).await.unwrap());
    // Every login is a new session: ids are never reused.
    assert_ne!(first, second);
    setup.at(2).logout(&first).await.unwrap();
    assert!(setup.at(3).session(&first).await.unwrap().is_none());
    assert!(setup.at(3).session(&second).await.unwrap().is_some());

    let short = setup
        .at(4)
        .set_password("ann", "too short")
        .await
        .unwrap_err();
    assert!(
        short
            .to_string()
            .contains("at least 10 characters; this one has 9"),
        "{short}"
    );
    let wrong = setup
        .at(4)
        .change_password("ann", "not the password", "a new one entirely")
        .await
        .unwrap_err();
    assert!(
        wrong.to_string().contains("current password is wrong"),
        "{wrong}"
    );
    assert!(setup.at(5).session(&second).await.unwrap().is_some());
    setup
        .at(5)
        .change_password("ann", PASSWORD, "a new one entirely")
        .await
        .unwrap();
    assert!(setup.at(6).session(&second).await.unwrap().is_none());
    assert!(setup.at(7).login("ann", PASSWORD, here).await.is_err());
    session_token(
        setup
            .at(8)
            .login("ann", "a new one entirely", here)
            .await
            .unwrap(),
    );
    assert_eq!(setup.at(9).logout_everywhere("ann").await.unwrap(), 1);
}

#[test]
fn admin_implies_every_role_and_scheduler_and_ad_ops_imply_viewer() {
    use Role::*;
    let implied = |role: Role| -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|other| role.implies(*other))
            .collect()
    };
    assert_eq!(implied(Admin), [Admin, Scheduler, AdOps, Viewer]);
    assert_eq!(implied(Scheduler), [Scheduler, Viewer]);
    assert_eq!(implied(AdOps), [AdOps, Viewer]);
    assert_eq!(implied(Viewer), [Viewer]);
    assert_eq!("AD-OPS".parse::<Role>().unwrap(), AdOps);
    let unknown = "owner".parse::<Role>().unwrap_err().to_string();
    assert!(
        unknown.contains("admin, scheduler, ad_ops or viewer"),
        "{unknown}"
    );
}

#[tokio::test]
async fn a_missing_role_is_refused_naming_the_role_and_the_channel() {
    let setup = Setup::new().await;
    let news = setup.channel("news").await;
    let sport = setup.channel("sport").await;
    setup
        .user(
            "ann",
            &[(Role::Scheduler, Some("news")), (Role::Viewer, None)],
        )
        .await;
    let token = session_token(
        setup
            .at(0)
            .login("ann", PASSWORD, peer("192.0.2.1"))
            .await
            .unwrap(),
    );
    let ann = setup
        .at(1)
        .session(&token)
        .await
        .unwrap()
        .unwrap()
        .principal;

    ann.require(Some(&news), Role::Scheduler).unwrap();
    ann.require(Some(&news), Role::Viewer).unwrap();
    ann.require(Some(&sport), Role::Viewer).unwrap();
    ann.require(None, Role::Viewer).unwrap();
    assert_eq!(
        ann.require(Some(&sport), Role::Scheduler),
        Err(Refusal::Forbidden(
            "this needs the scheduler role on channel sport".into()
        ))
    );
    assert_eq!(
        ann.require(Some(&news), Role::AdOps),
        Err(Refusal::Forbidden(
            "this needs the ad_ops role on channel news".into()
        ))
    );
    // A grant on one channel is no grant on every channel.
    assert_eq!(
        ann.require(None, Role::Scheduler),
        Err(Refusal::Forbidden(
            "this needs the scheduler role on every channel".into()
        ))
    );
    // By slug, as an adapter has it.
    let accounts = setup.at(2);
    accounts
        .require(&ann, Some("news"), Role::Scheduler)
        .await
        .unwrap();
    assert!(matches!(
        accounts.require(&ann, Some("weather"), Role::Viewer).await,
        Err(Refusal::NotFound(_))
    ));

    // Admin on one channel is every role there, and nothing more elsewhere.
    accounts
        .grant_role("ann", Role::Admin, Some("sport"))
        .await
        .unwrap();
    let ann = setup
        .at(3)
        .session(&token)
        .await
        .unwrap()
        .unwrap()
        .principal;
    ann.require(Some(&sport), Role::AdOps).unwrap();
    assert!(ann.require(None, Role::Admin).is_err());
}

#[tokio::test]
async fn an_api_token_stands_for_its_user_with_the_users_roles_until_revoked() {
    let setup = Setup::new().await;
    let news = setup.channel("news").await;
    setup.user("ann", &[(Role::AdOps, Some("news"))]).await;

    let made = setup.at(0).create_api_token("ann", "ci").await.unwrap();
    assert!(made.token.starts_with("onair_"), "{}", made.token);
    assert_eq!(made.token.len(), 49);
    assert!(!format!("{made:?}").contains(&made.token));
    let ann = setup
        .at(1)
        .resolve_api_token(&made.token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ann.username, "ann");
    assert_eq!(ann.grants, [(Some(news.id), Role::AdOps)]);
    ann.require(Some(&news), Role::Viewer).unwrap();
    // By slug, as a request names its channel: the grant's own channel, another, none such.
    assert_eq!(ann.channel_slugs, [(news.id, "news".to_owned())]);
    assert!(ann.has_on_slug("news", Role::AdOps) && !ann.has_on_slug("news", Role::Scheduler));
    setup
        .at(1)
        .require(&ann, Some("news"), Role::Viewer)
        .await
        .unwrap();
    assert!(matches!(
        setup.at(1).require(&ann, Some("news"), Role::Admin).await,
        Err(Refusal::Forbidden(message)) if message == "this needs the admin role on channel news"
    ));
    assert!(matches!(
        setup
            .at(1)
            .require(&ann, Some("nowhere"), Role::Viewer)
            .await,
        Err(Refusal::NotFound(_))
    ));
    // The user's roles as they are now.
    setup
        .at(2)
        .grant_role("ann", Role::Viewer, None)
        .await
        .unwrap();
    let ann = setup
        .at(3)
        .resolve_api_token(&made.token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ann.grants,
        [(None, Role::Viewer), (Some(news.id), Role::AdOps)]
    );
    let listed = setup.at(4).api_tokens("ann").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].last_used_at.as_deref(),
        Some(at(1).to_rfc3339_millis().as_str())
    );

    // Not a token, or one it is not: no one.
    for wrong in [
        "",
        "onair_",
        "Bearer x",
        &made.token[..48],
        &made.token.replace("onair_", "onair-"),
    ] {
        assert_eq!(setup.at(5).resolve_api_token(wrong).await.unwrap(), None);
    }
    let duplicate = setup.at(5).create_api_token("ann", "ci").await.unwrap_err();
    assert!(matches!(duplicate, Refusal::Conflict(_)), "{duplicate:?}");

    setup.at(6).revoke_api_token("ann", "ci").await.unwrap();
    assert_eq!(
        setup.at(7).resolve_api_token(&made.token).await.unwrap(),
        None
    );
    assert!(matches!(
        setup.at(7).revoke_api_token("ann", "ci").await,
        Err(Refusal::NotFound(_))
    ));

    // A disabled user's tokens stand for no one.
    let other = setup.at(8).create_api_token("ann", "ci").await.unwrap();
    assert!(
        setup
            .at(8)
            .resolve_api_token(&other.token)
            .await
            .unwrap()
            .is_some()
    );
    setup.at(9).disable_user("ann").await.unwrap();
    assert_eq!(
        setup.at(10).resolve_api_token(&other.token).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn users_are_added_with_their_roles_or_refused_with_the_reason() {
    let setup = Setup::new().await;
    setup.channel("news").await;
    let accounts = setup.at(0);
    let ann = accounts
        .add_user(
            "Ann",
            PASSWORD,
            &[(Role::Admin, None), (Role::Viewer, Some("news"))],
        )
        .await
        .unwrap();
    assert_eq!(ann.username, "ann");
    assert_eq!(ann.two_factor, "off");
    assert_eq!(
        ann.roles,
        [
            RoleView {
                role: Role::Admin,
                channel: None
            },
            RoleView {
                role: Role::Viewer,
                channel: Some("news".into())
            },
        ]
    );
    let taken = accounts.add_user("ANN", PASSWORD, &[]).await.unwrap_err();
    assert_eq!(
        taken,
        Refusal::Conflict("there is already a user \"ann\"".into())
    );
    let short = accounts.add_user("bob", "short", &[]).await.unwrap_err();
    assert!(
        short.to_string().contains("at least 10 characters"),
        "{short}"
    );
    let bad = accounts
        .add_user("bob smith", PASSWORD, &[])
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("username"), "{bad}");
    // An unknown channel is refused before anything is stored.
    let unknown = accounts
        .add_user("bob", PASSWORD, &[(Role::Viewer, Some("weather"))])
        .await
        .unwrap_err();
    assert!(matches!(unknown, Refusal::NotFound(_)), "{unknown:?}");
    assert_eq!(accounts.users().await.unwrap().len(), 1);

    // The last admin keeps the role and stays enabled.
    let last = accounts
        .revoke_role("ann", Role::Admin, None)
        .await
        .unwrap_err();
    assert!(last.to_string().contains("ann is the last admin"), "{last}");
    assert!(accounts.disable_user("ann").await.is_err());
    accounts
        .add_user("bob", PASSWORD, &[(Role::Admin, None)])
        .await
        .unwrap();
    accounts
        .revoke_role("ann", Role::Admin, None)
        .await
        .unwrap();
    let missing = accounts
        .revoke_role("ann", Role::Scheduler, Some("news"))
        .await
        .unwrap_err();
    assert_eq!(
        missing,
        Refusal::NotFound("ann has no scheduler role on channel news".into())
    );
    let names: Vec<String> = accounts
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|user| user.username)
        .collect();
    assert_eq!(names, ["ann", "bob"]);
}

#[tokio::test]
async fn the_demo_admin_gets_a_new_password_each_run_and_stays_an_admin() {
    let setup = Setup::new().await;
    let here = peer("192.0.2.9");
    let first = setup.at(0).fresh_admin_password("demo").await.unwrap();
    assert_eq!(first.len(), 16);
    let session = session_token(setup.at(1).login("demo", &first, here).await.unwrap());
    assert!(setup.at(2).has_admin().await.unwrap());

    let second = setup.at(3).fresh_admin_password("demo").await.unwrap();
    assert_ne!(first, second);
    assert!(
        setup.at(4).session(&session).await.unwrap().is_none(),
        "the last run's session ends with its password"
    );
    assert!(setup.at(5).login("demo", &first, here).await.is_err());
    assert!(setup.at(6).login("demo", &second, here).await.is_ok());
    let demo = setup.at(7).user("demo").await.unwrap();
    assert_eq!(demo.roles.len(), 1, "the role is not granted twice");
}

#[tokio::test]
async fn check_password_tells_the_right_password_from_a_wrong_one() {
    let setup = Setup::new().await;
    setup.user("ann", &[]).await;
    assert!(setup.at(0).check_password("ann", PASSWORD).await.is_ok());
    let wrong = setup
        .at(0)
        .check_password("ann", "not it at all")
        .await
        .unwrap_err();
    assert!(
        wrong.to_string().contains("the password is wrong"),
        "{wrong}"
    );
}
