//! Accounts on both backends: usernames unique in any case, roles per channel that go with the
//! channel, sessions that expire and rotate, token hashes unique, recovery codes and TOTP steps
//! used once, failed logins counted per key within the window.

use crate::common::{at, conflict, demo_ladder, stored_channel};
use onair_store::{NewApiToken, NewSession, NewUser, Store, TokenHash, UserId};

on_both_backends! {
    usernames_are_unique_in_any_case,
    roles_are_granted_once_per_channel_or_every_channel_and_go_with_a_deleted_channel,
    a_session_is_found_until_its_absolute_expiry_and_expired_ones_are_purged,
    a_pending_session_is_exchanged_once_for_a_new_one,
    a_new_password_or_disabling_ends_every_session_of_the_user,
    token_hashes_are_unique_and_a_name_is_free_again_once_revoked,
    a_recovery_code_and_a_totp_step_are_accepted_once,
    failed_logins_are_counted_per_key_within_the_window,
}

/// A distinct hash per number.
fn hash(n: u8) -> TokenHash {
    let mut digest = [7u8; 32];
    digest[0] = n;
    TokenHash::from_sha256(digest)
}

async fn user(store: &Store, name: &str) -> UserId {
    store
        .insert_user(NewUser {
            username: name,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
            now: at(0),
        })
        .await
        .unwrap()
        .id
}

fn session(id: &TokenHash, user: UserId, expires: i64, pending: bool) -> NewSession<'_> {
    NewSession {
        id,
        user,
        now: at(0),
        expires_at: at(expires),
        second_factor_pending: pending,
        csrf_token: "csrf",
    }
}

async fn usernames_are_unique_in_any_case(store: Store) {
    let admin = user(&store, "admin").await;
    let taken = conflict(
        store
            .insert_user(NewUser {
                username: "Admin",
                password_hash: "x",
                now: at(1),
            })
            .await,
    );
    assert!(taken.contains("\"Admin\""), "{taken}");
    let found = store.user_by_name("ADMIN").await.unwrap().unwrap();
    assert_eq!(found.id, admin);
    assert_eq!(found.username, "admin");
    assert!(!found.disabled);
    assert_eq!(found.totp_enabled_at, None);
    assert!(store.user_by_name("nobody").await.unwrap().is_none());
    user(&store, "bob").await;
    let names: Vec<String> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|user| user.username)
        .collect();
    assert_eq!(names, ["admin", "bob"]);
}

async fn roles_are_granted_once_per_channel_or_every_channel_and_go_with_a_deleted_channel(
    store: Store,
) {
    let ladder = demo_ladder(&store).await;
    let news = stored_channel(&store, "news", ladder).await.id;
    let sport = stored_channel(&store, "sport", ladder).await.id;
    let ann = user(&store, "ann").await;
    let bob = user(&store, "bob").await;

    assert!(store.grant_role(ann, None, "viewer").await.unwrap());
    assert!(!store.grant_role(ann, None, "viewer").await.unwrap());
    assert!(store.grant_role(ann, Some(news), "viewer").await.unwrap());
    assert!(!store.grant_role(ann, Some(news), "viewer").await.unwrap());
    assert!(
        store
            .grant_role(ann, Some(news), "scheduler")
            .await
            .unwrap()
    );
    assert!(store.grant_role(ann, Some(sport), "ad_ops").await.unwrap());
    assert!(store.grant_role(bob, Some(news), "viewer").await.unwrap());

    let grants = |rows: Vec<onair_store::RoleGrantRow>| {
        rows.into_iter()
            .map(|row| (row.channel_slug, row.role))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        grants(store.user_roles(ann).await.unwrap()),
        [
            (None, "viewer".to_owned()),
            (Some("news".to_owned()), "scheduler".to_owned()),
            (Some("news".to_owned()), "viewer".to_owned()),
            (Some("sport".to_owned()), "ad_ops".to_owned()),
        ]
    );

    // Revoking the every-channel grant leaves the one on news, and the other way round.
    assert!(store.revoke_role(ann, None, "viewer").await.unwrap());
    assert!(!store.revoke_role(ann, None, "viewer").await.unwrap());
    assert!(store.revoke_role(ann, Some(news), "viewer").await.unwrap());
    assert!(store.grant_role(ann, None, "viewer").await.unwrap());

    // A role that is not one is refused by the schema.
    assert!(store.grant_role(ann, None, "owner").await.is_err());

    store.delete_channel(news).await.unwrap();
    assert_eq!(
        grants(store.user_roles(ann).await.unwrap()),
        [
            (None, "viewer".to_owned()),
            (Some("sport".to_owned()), "ad_ops".to_owned()),
        ]
    );
    assert!(store.user_roles(bob).await.unwrap().is_empty());
    let everyone: Vec<(UserId, String)> = store
        .all_user_roles()
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.user_id, row.role))
        .collect();
    assert_eq!(
        everyone,
        [(ann, "viewer".to_owned()), (ann, "ad_ops".to_owned())]
    );
}

async fn a_session_is_found_until_its_absolute_expiry_and_expired_ones_are_purged(store: Store) {
    let ann = user(&store, "ann").await;
    let (a, b) = (hash(1), hash(2));
    store
        .insert_session(session(&a, ann, 100, false))
        .await
        .unwrap();
    store
        .insert_session(session(&b, ann, 1_000, false))
        .await
        .unwrap();
    assert!(conflict(store.insert_session(session(&a, ann, 100, false)).await).contains("exists"));

    let found = store.session(&a, at(99)).await.unwrap().unwrap();
    assert_eq!(found.user_id, ann);
    assert_eq!(found.roles, []);
    assert_eq!(found.username, "ann");
    assert_eq!(found.last_seen_at, at(0));
    assert_eq!(found.expires_at, at(100));
    assert_eq!(found.csrf_token, "csrf");
    assert!(!found.second_factor_pending);
    assert!(store.session(&a, at(100)).await.unwrap().is_none());
    assert!(store.session(&hash(9), at(0)).await.unwrap().is_none());

    store.touch_session(&b, at(50)).await.unwrap();
    // Touching never moves last_seen_at back.
    store.touch_session(&b, at(40)).await.unwrap();
    assert_eq!(
        store
            .session(&b, at(60))
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        at(50)
    );

    // At 100 `a` is past its expiry; `b`, seen at 50, is idle for a cut-off at 60 but not 50.
    assert_eq!(
        store
            .delete_expired_sessions(at(100), at(50))
            .await
            .unwrap(),
        1
    );
    assert!(store.session(&b, at(100)).await.unwrap().is_some());
    assert_eq!(
        store
            .delete_expired_sessions(at(100), at(60))
            .await
            .unwrap(),
        1
    );
    assert!(store.session(&b, at(100)).await.unwrap().is_none());

    let c = hash(3);
    store
        .insert_session(session(&c, ann, 1_000, false))
        .await
        .unwrap();
    assert!(store.delete_session(&c).await.unwrap());
    assert!(!store.delete_session(&c).await.unwrap());
}

async fn a_pending_session_is_exchanged_once_for_a_new_one(store: Store) {
    let ann = user(&store, "ann").await;
    let bob = user(&store, "bob").await;
    let (pending, full, again, full_session) = (hash(1), hash(2), hash(3), hash(4));
    store
        .insert_session(session(&pending, ann, 300, true))
        .await
        .unwrap();
    assert!(
        store
            .session(&pending, at(1))
            .await
            .unwrap()
            .unwrap()
            .second_factor_pending
    );
    // Another user's exchange of it is refused.
    assert!(
        !store
            .exchange_pending_session(&pending, session(&full, bob, 1_000, false))
            .await
            .unwrap()
    );
    assert!(
        store
            .exchange_pending_session(&pending, session(&full, ann, 1_000, false))
            .await
            .unwrap()
    );
    assert!(store.session(&pending, at(1)).await.unwrap().is_none());
    assert!(
        !store
            .session(&full, at(1))
            .await
            .unwrap()
            .unwrap()
            .second_factor_pending
    );
    // Once only, and never from a full session.
    assert!(
        !store
            .exchange_pending_session(&pending, session(&again, ann, 1_000, false))
            .await
            .unwrap()
    );
    store
        .insert_session(session(&full_session, ann, 1_000, false))
        .await
        .unwrap();
    assert!(
        !store
            .exchange_pending_session(&full_session, session(&again, ann, 1_000, false))
            .await
            .unwrap()
    );
    assert!(store.session(&again, at(1)).await.unwrap().is_none());
}

async fn a_new_password_or_disabling_ends_every_session_of_the_user(store: Store) {
    let ann = user(&store, "ann").await;
    let bob = user(&store, "bob").await;
    for (n, who) in [(1, ann), (2, ann), (3, bob)] {
        store
            .insert_session(session(&hash(n), who, 1_000, false))
            .await
            .unwrap();
    }
    store
        .replace_password_hash(ann, "$argon2id$new")
        .await
        .unwrap();
    assert_eq!(
        store.user(ann).await.unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
    assert!(store.session(&hash(1), at(1)).await.unwrap().is_none());
    assert!(store.session(&hash(2), at(1)).await.unwrap().is_none());
    assert!(store.session(&hash(3), at(1)).await.unwrap().is_some());

    store.set_user_disabled(bob, true).await.unwrap();
    assert!(store.session(&hash(3), at(1)).await.unwrap().is_none());
    assert!(store.user(bob).await.unwrap().unwrap().disabled);
    store.set_user_disabled(bob, false).await.unwrap();
    assert!(!store.user(bob).await.unwrap().unwrap().disabled);
    assert_eq!(store.delete_user_sessions(bob).await.unwrap(), 0);
}

fn token<'a>(user: UserId, name: &'a str, hash: &'a TokenHash) -> NewApiToken<'a> {
    NewApiToken {
        user,
        name,
        hash,
        now: at(10),
    }
}

async fn token_hashes_are_unique_and_a_name_is_free_again_once_revoked(store: Store) {
    let ann = user(&store, "ann").await;
    let bob = user(&store, "bob").await;
    let (one, two, three) = (hash(1), hash(2), hash(3));

    let ci = store
        .insert_api_token(token(ann, "ci", &one))
        .await
        .unwrap();
    assert_eq!(ci.name, "ci");
    assert_eq!(ci.revoked_at, None);
    let same_hash = conflict(store.insert_api_token(token(bob, "deploy", &one)).await);
    assert!(same_hash.contains("exists already"), "{same_hash}");
    let same_name = conflict(store.insert_api_token(token(ann, "ci", &two)).await);
    assert!(same_name.contains("\"ci\""), "{same_name}");
    // Another user may use the name.
    store
        .insert_api_token(token(bob, "ci", &two))
        .await
        .unwrap();

    let found = store.api_token_by_hash(&one).await.unwrap().unwrap();
    assert_eq!(found.token.id, ci.id);
    assert_eq!(found.username, "ann");
    assert!(!found.user_disabled);
    assert_eq!(found.roles, []);
    // The user's roles come with the token, in one read, as `user_roles` lists them.
    assert!(store.grant_role(ann, None, "viewer").await.unwrap());
    assert!(store.grant_role(ann, None, "ad_ops").await.unwrap());
    let found = store.api_token_by_hash(&one).await.unwrap().unwrap();
    assert_eq!(found.token.id, ci.id);
    assert_eq!(found.roles, store.user_roles(ann).await.unwrap());
    assert_eq!(found.roles.len(), 2);
    store.touch_api_token(ci.id, at(20)).await.unwrap();

    let revoked = store
        .revoke_api_token(ann, "ci", at(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at(30)));
    assert_eq!(revoked.last_used_at, Some(at(20)));
    assert!(
        store
            .revoke_api_token(ann, "ci", at(31))
            .await
            .unwrap()
            .is_none()
    );
    // Still found (revoked), and its name is free.
    let found = store.api_token_by_hash(&one).await.unwrap().unwrap();
    assert_eq!(found.token.revoked_at, Some(at(30)));
    store
        .insert_api_token(token(ann, "ci", &three))
        .await
        .unwrap();
    let names: Vec<(String, bool)> = store
        .api_tokens(ann)
        .await
        .unwrap()
        .into_iter()
        .map(|token| (token.name, token.revoked_at.is_some()))
        .collect();
    assert_eq!(names, [("ci".to_owned(), true), ("ci".to_owned(), false)]);
}

async fn a_recovery_code_and_a_totp_step_are_accepted_once(store: Store) {
    let ann = user(&store, "ann").await;
    let codes = [hash(1), hash(2)];
    store.begin_totp(ann, "SECRETBASE32", &codes).await.unwrap();
    let begun = store.user(ann).await.unwrap().unwrap();
    assert_eq!(begun.totp_secret.as_deref(), Some("SECRETBASE32"));
    assert_eq!(begun.totp_enabled_at, None);
    // Not in force yet: no step is claimed before it is confirmed.
    assert!(!store.claim_totp_step(ann, 5).await.unwrap());
    assert!(store.confirm_totp(ann, 10, at(1)).await.unwrap());
    assert!(!store.confirm_totp(ann, 11, at(2)).await.unwrap());
    assert_eq!(
        store.user(ann).await.unwrap().unwrap().totp_enabled_at,
        Some(at(1))
    );
    let again = conflict(store.begin_totp(ann, "OTHER", &codes).await);
    assert!(again.contains("turn it off"), "{again}");

    assert!(!store.claim_totp_step(ann, 10).await.unwrap());
    assert!(store.claim_totp_step(ann, 11).await.unwrap());
    assert!(!store.claim_totp_step(ann, 11).await.unwrap());
    assert!(!store.claim_totp_step(ann, 9).await.unwrap());

    assert_eq!(store.unused_recovery_codes(ann).await.unwrap(), 2);
    assert!(store.use_recovery_code(ann, &hash(1), at(3)).await.unwrap());
    assert!(!store.use_recovery_code(ann, &hash(1), at(4)).await.unwrap());
    assert!(!store.use_recovery_code(ann, &hash(9), at(4)).await.unwrap());
    assert_eq!(store.unused_recovery_codes(ann).await.unwrap(), 1);

    store.clear_totp(ann).await.unwrap();
    let cleared = store.user(ann).await.unwrap().unwrap();
    assert_eq!(cleared.totp_secret, None);
    assert_eq!(cleared.totp_enabled_at, None);
    assert_eq!(store.unused_recovery_codes(ann).await.unwrap(), 0);
    assert!(!store.use_recovery_code(ann, &hash(2), at(5)).await.unwrap());
}

async fn failed_logins_are_counted_per_key_within_the_window(store: Store) {
    let keys = ["user:ann", "peer:192.0.2.1"];
    for second in [0, 10, 20] {
        store
            .record_login_failure(&keys, at(second), at(second - 900))
            .await
            .unwrap();
    }
    store
        .record_login_failure(&["user:bob", "peer:192.0.2.1"], at(30), at(-870))
        .await
        .unwrap();
    assert_eq!(
        store.login_failures("user:ann", at(5)).await.unwrap(),
        [at(10), at(20)]
    );
    assert_eq!(
        store.login_failures("peer:192.0.2.1", at(0)).await.unwrap(),
        [at(0), at(10), at(20), at(30)]
    );
    assert_eq!(
        store.login_failures("user:bob", at(0)).await.unwrap(),
        [at(30)]
    );

    // A failure recorded later forgets those before its window, whatever their key.
    store
        .record_login_failure(&["user:carl"], at(915), at(15))
        .await
        .unwrap();
    assert_eq!(
        store.login_failures("user:ann", at(0)).await.unwrap(),
        [at(20)]
    );

    store.clear_login_failures("user:ann").await.unwrap();
    assert!(
        store
            .login_failures("user:ann", at(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.login_failures("peer:192.0.2.1", at(0)).await.unwrap(),
        [at(20), at(30)]
    );
}
