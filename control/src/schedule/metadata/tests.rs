//! Programme metadata carried by schedule edits, on a SQLite store in memory.

use onair_domain::{Ticks, Timestamp};
use onair_store::grid::GridKind;

use super::super::tests::{at, control, draft, put, ready_asset};
use crate::grid::{InfoDoc, RatingDoc};
use crate::schedule::ItemDraft;
use crate::transfer::{CopyRequest, Format, Unversioned};
use crate::{Control, Refusal};

fn episode(title: &str, number: u32) -> InfoDoc {
    InfoDoc {
        title: title.into(),
        episode_title: Some(format!("Part {number}")),
        season: Some(2),
        episode: Some(number),
        description: Some("Where the river meets the sea.".into()),
        genres: vec!["Documentary".into()],
        rating: Some(RatingDoc {
            system: Some("VCHIP".into()),
            value: "TV-PG".into(),
        }),
        artwork_url: Some("https://images.example/river.jpg".into()),
    }
}

fn with_info(draft: ItemDraft, info: InfoDoc) -> ItemDraft {
    ItemDraft {
        info: Some(info),
        ..draft
    }
}

/// The programme info the plan airs (and the EPG lists) for the item starting at `start`.
async fn planned_info(control: &Control, start: Timestamp) -> onair_scheduler::grid::ProgrammeInfo {
    let preview = control
        .preview_plan("news", start, start + Ticks::from_secs(1))
        .await
        .unwrap();
    preview
        .items
        .into_iter()
        .find(|programme| programme.start == start)
        .map(|programme| programme.info)
        .unwrap_or_else(|| panic!("nothing planned at {start}"))
}

#[tokio::test]
async fn an_items_info_is_stored_in_the_version_of_its_edit_and_read_back_and_planned() {
    let (control, channel, ladder) = control().await;
    let film = ready_asset(&control.store, ladder, "river", 600).await;
    let version = put(
        &control,
        at(3600),
        at(7200),
        &[with_info(
            draft(film, at(3600), "River", &[]),
            episode("Ignored: the item's title wins", 4),
        )],
    )
    .await
    .unwrap();

    let written = control.store.grid_documents(channel.id).await.unwrap();
    assert_eq!(written.len(), 1, "one metadata document");
    assert_eq!(
        (written[0].kind, written[0].version),
        (GridKind::Metadata, version),
        "written in the schedule edit's own version"
    );
    let window = control.schedule("news", at(3600), at(7200)).await.unwrap();
    let (item, _) = &window.items[0];
    assert_eq!(window.info_of(item), Some(&episode("River", 4)));
    let placed = control
        .placed_schedule("news", at(3600), at(7200))
        .await
        .unwrap();
    assert_eq!(
        placed.info_of(&placed.items[0].item),
        Some(&episode("River", 4))
    );
    let info = planned_info(&control, at(3600)).await;
    assert_eq!(
        (
            info.title.as_str(),
            info.episode,
            info.episode_title.as_deref()
        ),
        ("River", Some(4), Some("Part 4"))
    );
}

#[tokio::test]
async fn an_item_moved_with_its_info_keeps_it_and_the_old_start_keeps_its_own_for_a_restore() {
    let (control, _, ladder) = control().await;
    let film = ready_asset(&control.store, ladder, "river", 600).await;
    let first = put(
        &control,
        at(3600),
        at(7200),
        &[with_info(
            draft(film, at(3600), "River", &[]),
            episode("River", 4),
        )],
    )
    .await
    .unwrap();
    put(
        &control,
        at(3600),
        at(7200),
        &[with_info(
            draft(film, at(5400), "River", &[]),
            episode("River", 4),
        )],
    )
    .await
    .unwrap();
    assert_eq!(planned_info(&control, at(5400)).await.episode, Some(4));

    control
        .restore_schedule("news", first, None, "test")
        .await
        .unwrap();
    assert_eq!(
        planned_info(&control, at(3600)).await.episode,
        Some(4),
        "the restored item lists as it did"
    );
}

#[tokio::test]
async fn an_item_without_info_keeps_what_is_stored_and_a_bare_title_clears_it() {
    let (control, channel, ladder) = control().await;
    let film = ready_asset(&control.store, ladder, "river", 600).await;
    put(
        &control,
        at(3600),
        at(7200),
        &[with_info(
            draft(film, at(3600), "River", &[]),
            episode("River", 4),
        )],
    )
    .await
    .unwrap();
    let before = control
        .store
        .grid_documents(channel.id)
        .await
        .unwrap()
        .len();
    put(
        &control,
        at(3600),
        at(7200),
        &[ItemDraft {
            title: "River (repeat)".into(),
            ..draft(film, at(3600), "River", &[])
        }],
    )
    .await
    .unwrap();
    assert_eq!(
        control
            .store
            .grid_documents(channel.id)
            .await
            .unwrap()
            .len(),
        before,
        "no metadata written"
    );
    assert_eq!(planned_info(&control, at(3600)).await.episode, Some(4));

    put(
        &control,
        at(3600),
        at(7200),
        &[with_info(
            draft(film, at(3600), "River", &[]),
            InfoDoc::titled("River"),
        )],
    )
    .await
    .unwrap();
    let window = control.schedule("news", at(3600), at(7200)).await.unwrap();
    assert_eq!(window.info_of(&window.items[0].0), None);
    let info = planned_info(&control, at(3600)).await;
    assert_eq!((info.title.as_str(), info.episode), ("River", None));
}

#[tokio::test]
async fn bad_info_is_refused_by_item_and_field_and_nothing_is_stored() {
    let (control, channel, ladder) = control().await;
    let film = ready_asset(&control.store, ladder, "river", 600).await;
    let version = control.current_version("news").await.unwrap();
    let refusal = put(
        &control,
        at(3600),
        at(7200),
        &[
            draft(film, at(3000 + 600), "Fine", &[]),
            with_info(
                draft(film, at(4800), "River", &[]),
                InfoDoc {
                    season: Some(0),
                    artwork_url: Some("javascript:alert(1)".into()),
                    ..episode("River", 4)
                },
            ),
        ],
    )
    .await
    .unwrap_err();
    let Refusal::Invalid(problems) = refusal else {
        panic!("{refusal:?}");
    };
    let said: Vec<(Option<usize>, &str)> = problems
        .iter()
        .map(|problem| (problem.index, problem.message.as_str()))
        .collect();
    assert_eq!(
        said,
        [
            (Some(1), "info.season: it counts from 1"),
            (
                Some(1),
                "info.artwork_url: \"javascript:alert(1)\" is not an http(s) URL"
            ),
        ]
    );
    assert_eq!(control.current_version("news").await.unwrap(), version);
    assert!(
        control
            .store
            .grid_documents(channel.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_info_of_an_item_inside_the_lock_horizon_may_be_corrected() {
    let (control, _, ladder) = control().await;
    let film = ready_asset(&control.store, ladder, "river", 600).await;
    put(
        &control,
        at(600),
        at(660),
        &[draft(film, at(600), "River", &[])],
    )
    .await
    .unwrap();
    // Ten minutes on, the item airs inside the lock horizon.
    let later = Control::new(
        control.store.clone(),
        std::sync::Arc::new(onair_domain::FixedClock(at(590))),
    );
    let moved = put(
        &later,
        at(600),
        at(660),
        &[draft(film, at(630), "River", &[])],
    )
    .await
    .unwrap_err();
    assert!(matches!(moved, Refusal::Locked { .. }), "{moved:?}");
    put(
        &later,
        at(600),
        at(660),
        &[with_info(
            draft(film, at(600), "River", &[]),
            episode("River", 4),
        )],
    )
    .await
    .unwrap();
    assert_eq!(planned_info(&later, at(600)).await.episode, Some(4));
}

#[tokio::test]
async fn a_copied_day_and_an_exported_day_carry_their_items_info() {
    let (control, _, ladder) = control().await;
    let film = ready_asset(&control.store, ladder, "river", 600).await;
    // 20:00 UTC on 5 December 2026, a day after the clock.
    let evening = at(86_400 + 8 * 3600);
    put(
        &control,
        evening,
        evening + Ticks::from_secs(3600),
        &[with_info(
            draft(film, evening, "River", &[]),
            episode("River", 4),
        )],
    )
    .await
    .unwrap();
    control
        .copy_schedule(
            "news",
            &CopyRequest {
                version: None,
                from_date: "2026-12-05".into(),
                days: 1,
                to_dates: vec!["2026-12-07".into()],
            },
            Unversioned::Current,
            "test",
        )
        .await
        .unwrap();
    let copy = evening + Ticks::from_secs(2 * 86_400);
    let window = control
        .schedule("news", copy, copy + Ticks::from_secs(1))
        .await
        .unwrap();
    assert_eq!(window.items.len(), 1);
    assert_eq!(
        window.info_of(&window.items[0].0),
        Some(&episode("River", 4))
    );

    let exported = control
        .export_schedule("news", copy, copy + Ticks::from_secs(1), Format::Json)
        .await
        .unwrap();
    let file: serde_json::Value = serde_json::from_slice(&exported.body).unwrap();
    assert_eq!(file["items"][0]["info"]["episode_title"], "Part 4");
}
