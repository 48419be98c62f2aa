//! Partners on both backends: settings written check-and-set with their author, keys rotated
//! with an overlap, a delete that takes the keys with it, and the ad sessions a stitched
//! partner's viewers start (migration 0016), which remember it and go with it.

use crate::common::{at, conflict, demo_ladder, secs, stored_channel};
use onair_store::{NewAdDecision, NewAdSession, PartnerWrite, Store, StoreError};

on_both_backends! {
    a_partner_reads_back_with_its_first_key_and_version_one,
    a_taken_name_is_a_conflict_and_stores_nothing_more,
    an_update_bumps_the_version_and_names_its_author,
    an_update_on_a_stale_version_is_refused_and_changes_nothing,
    a_rotation_keeps_the_previous_key_until_its_overlap_ends_and_then_drops_it,
    a_deleted_partner_is_gone_with_its_keys,
    a_partners_session_remembers_it_and_a_channels_own_session_names_none,
    a_deleted_partner_takes_its_sessions_and_their_decisions_and_leaves_the_channels_own,
    a_session_of_a_partner_that_does_not_exist_is_refused_as_not_found,
}

fn write<'a>(settings: &'a str, author: &'a str, secs_after: i64) -> PartnerWrite<'a> {
    PartnerWrite {
        display_name: "Acme TV",
        settings,
        author,
        at: at(secs_after),
    }
}

async fn a_partner_reads_back_with_its_first_key_and_version_one(store: Store) {
    let created = store
        .create_partner("acme", &write(r#"{"channels":["demo"]}"#, "ann", 0), "k1")
        .await
        .unwrap();
    assert_eq!(created.name, "acme");
    assert_eq!(created.display_name, "Acme TV");
    assert_eq!(created.settings, r#"{"channels":["demo"]}"#);
    assert_eq!(created.version, 1);
    assert_eq!((created.created_at, created.updated_at), (at(0), at(0)));
    assert_eq!(created.updated_by, "ann");
    assert_eq!(created.keys.len(), 1);
    assert_eq!(created.keys[0].key_id, 1);
    assert_eq!(created.keys[0].secret, "k1");
    assert_eq!(created.keys[0].expires_at, None);
    assert_eq!(
        store.partner_by_name("acme").await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(store.partners().await.unwrap(), vec![created]);
    assert_eq!(store.partner_by_name("nobody").await.unwrap(), None);
}

async fn a_taken_name_is_a_conflict_and_stores_nothing_more(store: Store) {
    store
        .create_partner("acme", &write("{}", "ann", 0), "k1")
        .await
        .unwrap();
    let error = conflict(
        store
            .create_partner("acme", &write("{}", "bob", 1), "k2")
            .await,
    );
    assert!(error.contains("acme"), "{error}");
    let partners = store.partners().await.unwrap();
    assert_eq!(partners.len(), 1);
    assert_eq!(partners[0].updated_by, "ann");
    assert_eq!(partners[0].keys.len(), 1);
    assert_eq!(partners[0].keys[0].secret, "k1");
}

async fn an_update_bumps_the_version_and_names_its_author(store: Store) {
    store
        .create_partner("acme", &write("{}", "ann", 0), "k1")
        .await
        .unwrap();
    let updated = store
        .update_partner("acme", Some(1), &write(r#"{"epg":"xmltv"}"#, "bob", 60))
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.settings, r#"{"epg":"xmltv"}"#);
    assert_eq!((updated.created_at, updated.updated_at), (at(0), at(60)));
    assert_eq!(updated.updated_by, "bob");
    // Without a version to check, the update goes on whatever it is.
    let again = store
        .update_partner("acme", None, &write("{}", "cy", 61))
        .await
        .unwrap();
    assert_eq!(again.version, 3);
    let missing = store
        .update_partner("nobody", None, &write("{}", "cy", 61))
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)), "{missing}");
}

async fn an_update_on_a_stale_version_is_refused_and_changes_nothing(store: Store) {
    store
        .create_partner("acme", &write("{}", "ann", 0), "k1")
        .await
        .unwrap();
    store
        .update_partner("acme", Some(1), &write(r#"{"a":1}"#, "bob", 1))
        .await
        .unwrap();
    let error = conflict(
        store
            .update_partner("acme", Some(1), &write(r#"{"a":2}"#, "cy", 2))
            .await,
    );
    assert!(error.contains("version 2"), "{error}");
    let stored = store.partner_by_name("acme").await.unwrap().unwrap();
    assert_eq!(
        (stored.version, stored.settings.as_str()),
        (2, r#"{"a":1}"#)
    );
}

async fn a_rotation_keeps_the_previous_key_until_its_overlap_ends_and_then_drops_it(store: Store) {
    store
        .create_partner("acme", &write("{}", "ann", 0), "k1")
        .await
        .unwrap();
    let overlap = secs(24 * 3600);
    let rotated = store
        .rotate_partner_key("acme", "k2", at(100), at(100) + overlap)
        .await
        .unwrap();
    let keys: Vec<(i64, &str, Option<_>)> = rotated
        .keys
        .iter()
        .map(|key| (key.key_id, key.secret.as_str(), key.expires_at))
        .collect();
    assert_eq!(keys, [(1, "k1", Some(at(100) + overlap)), (2, "k2", None)]);
    assert!(rotated.keys[0].valid_at(at(100) + overlap - secs(1)));
    assert!(!rotated.keys[0].valid_at(at(100) + overlap));
    // A second rotation within the overlap keeps both older keys until the new overlap ends…
    let twice = store
        .rotate_partner_key("acme", "k3", at(200), at(300))
        .await
        .unwrap();
    let ids: Vec<i64> = twice.keys.iter().map(|key| key.key_id).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(twice.keys[1].expires_at, Some(at(300)));
    assert_eq!(twice.keys[0].expires_at, Some(at(100) + overlap));
    // …and one after k2's overlap drops it, keeping k1 (still in its own) and k3 overlapping.
    let later = store
        .rotate_partner_key("acme", "k4", at(400), at(500))
        .await
        .unwrap();
    let ids: Vec<(i64, Option<_>)> = later
        .keys
        .iter()
        .map(|key| (key.key_id, key.expires_at))
        .collect();
    assert_eq!(
        ids,
        [(1, Some(at(100) + overlap)), (3, Some(at(500))), (4, None)]
    );
    let missing = store
        .rotate_partner_key("nobody", "k", at(1), at(2))
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)), "{missing}");
}

async fn a_deleted_partner_is_gone_with_its_keys(store: Store) {
    store
        .create_partner("acme", &write("{}", "ann", 0), "k1")
        .await
        .unwrap();
    store
        .rotate_partner_key("acme", "k2", at(1), at(2))
        .await
        .unwrap();
    assert!(store.delete_partner("acme").await.unwrap());
    assert!(!store.delete_partner("acme").await.unwrap());
    assert_eq!(store.partner_by_name("acme").await.unwrap(), None);
    // The name is free again, and the new partner starts with key 1 of its own.
    let again = store
        .create_partner("acme", &write("{}", "ann", 3), "k9")
        .await
        .unwrap();
    assert_eq!(again.keys.len(), 1);
    assert_eq!(
        (again.keys[0].key_id, again.keys[0].secret.as_str()),
        (1, "k9")
    );
}

/// A session `id` on `channel`, of `partner` (or the channel's own viewers).
fn new_session(
    id: &str,
    channel_id: onair_domain::ChannelId,
    partner_id: Option<i64>,
) -> NewAdSession<'_> {
    NewAdSession {
        id,
        channel_id,
        params: r#"{"aid": "7"}"#,
        client_ip: None,
        user_agent: None,
        at: at(0),
        partner_id,
    }
}

async fn a_partners_session_remembers_it_and_a_channels_own_session_names_none(store: Store) {
    let channel = stored_channel(&store, "demo", demo_ladder(&store).await).await;
    let partner = store
        .create_partner("acme", &write("{}", "ann", 0), "k1")
        .await
        .unwrap();
    store
        .create_ad_session(&new_session("p1", channel.id, Some(partner.id)))
        .await
        .unwrap();
    store
        .create_ad_session(&new_session("c1", channel.id, None))
        .await
        .unwrap();
    let of_partner = store.ad_session("p1").await.unwrap().unwrap();
    assert_eq!(of_partner.partner, Some((partner.id, "acme".to_owned())));
    assert_eq!(of_partner.params, r#"{"aid": "7"}"#);
    assert_eq!(store.ad_session("c1").await.unwrap().unwrap().partner, None);
}

async fn a_deleted_partner_takes_its_sessions_and_their_decisions_and_leaves_the_channels_own(
    store: Store,
) {
    let channel = stored_channel(&store, "demo", demo_ladder(&store).await).await;
    let partner = store
        .create_partner("acme", &write("{}", "ann", 0), "k1")
        .await
        .unwrap();
    for (id, partner_id) in [("p1", Some(partner.id)), ("c1", None)] {
        store
            .create_ad_session(&new_session(id, channel.id, partner_id))
            .await
            .unwrap();
    }
    let decisions: Vec<NewAdDecision<'_>> = ["p1", "c1"]
        .into_iter()
        .map(|session_id| NewAdDecision {
            session_id,
            break_start: at(100),
            channel_id: channel.id,
            break_duration: secs(30),
            decided_at: at(50),
            fill: "{}",
        })
        .collect();
    store.record_ad_decisions(&decisions).await.unwrap();

    assert!(store.delete_partner("acme").await.unwrap());
    assert_eq!(store.ad_session("p1").await.unwrap(), None);
    assert!(
        store
            .ad_decisions_of_session("p1")
            .await
            .unwrap()
            .is_empty()
    );
    let own = store.ad_session("c1").await.unwrap().unwrap();
    assert_eq!(own.partner, None);
    assert_eq!(store.ad_decisions_of_session("c1").await.unwrap().len(), 1);
}

async fn a_session_of_a_partner_that_does_not_exist_is_refused_as_not_found(store: Store) {
    let channel = stored_channel(&store, "demo", demo_ladder(&store).await).await;
    let refused = store
        .create_ad_session(&new_session("p1", channel.id, Some(404)))
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::NotFound(_)), "{refused}");
    assert!(refused.to_string().contains("partner 404"), "{refused}");
    assert_eq!(store.ad_session("p1").await.unwrap(), None);
}
