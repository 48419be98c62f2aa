//! `onair serve`: every role in one process: the origin, the pages, the API, the as-run
//! recorder (unless `as_run.enabled = false`), and (unless `transcode.embedded_worker = false`)
//! one transcode worker and the slates channels lack (`crate::slates`).

use std::sync::Arc;

use anyhow::Context;
use onair_playout::origin::{self, OriginState};
use tokio::sync::watch;

use crate::as_run::{AsRunRecorder, wall_period};
use onair_control::registry::{ChannelRefresher, PlanDirectory};

use crate::config::Config;
use crate::startup;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    startup::prepare_dirs(config)?;
    let store = startup::open_store(config).await?;
    serve(config, store).await
}

/// Serves from an open store until Ctrl-C or SIGTERM.
pub async fn serve(config: &Config, store: onair_store::Store) -> anyhow::Result<()> {
    serve_with(config, store, axum::Router::new()).await
}

/// [`serve`], with `extra` routes beside onair's (the demo's ad server).
pub async fn serve_with(
    config: &Config,
    store: onair_store::Store,
    extra: axum::Router,
) -> anyhow::Result<()> {
    refuse_open_to_all_without_admin(config, &store).await?;
    let clock = startup::clock(config);
    let directory = Arc::new(onair_playout::origin::Directory::default());
    let plans = Arc::new(PlanDirectory::default());
    // Every channel lists its segments as late as a live slot is decided, so its live edge
    // stays put when it switches to live and back.
    let times = live_times(config);
    let mut refresher = ChannelRefresher::new(store.clone(), directory.clone(), plans.clone())
        .with_clock(clock.clone())
        .with_live_delay(times.grace + times.margin);
    refresher
        .refresh_all()
        .await
        .context("cannot load the channels")?;

    // Server-side ad insertion: sessions, decisions ahead of breaks, beacons.
    let ads = onair_control::ads::AdEngine::new(
        startup::control(config, store.clone()),
        directory.clone(),
    );
    if let Err(refusal) = ads.reload_configs().await {
        tracing::warn!(%refusal, "cannot load the channels' ad settings");
    }
    let session_state = onair_web_ui::sessions::SessionState {
        engine: ads.clone(),
    };
    // A channel manifest asked for with session parameters starts a session (implicit): see
    // onair_web_ui::ops::layered below.
    let origin = origin::router(OriginState {
        directory: directory.clone(),
        clock: clock.clone(),
        media_root: config.storage.media_dir(),
    });
    // A break's first segment and the first after it, with the SCTE-35 cue inside.
    let cued_segments =
        onair_web_ui::scte35_segments::router(onair_web_ui::scte35_segments::Scte35SegmentState {
            directory: directory.clone(),
            media_root: config.storage.media_dir(),
        });
    // Each partner's own URLs, and its requests counted for the partner API.
    let partner_counters = Arc::new(onair_web_ui::partner_routes::PartnerCounters::default());
    let partner_urls =
        onair_web_ui::partner_routes::router(onair_web_ui::partner_routes::PartnerRoutesState {
            store: store.clone(),
            clock: clock.clone(),
            directory: directory.clone(),
            media_root: config.storage.media_dir(),
            counters: partner_counters.clone(),
            plans: plans.clone(),
            xmltv_domain: onair_web_ui::epg::DEFAULT_XMLTV_DOMAIN.to_owned(),
            engine: ads.clone(),
        });
    let partners_api =
        onair_web_ui::api::partners::router(onair_web_ui::api::partners::PartnersApiState {
            store: store.clone(),
            clock: clock.clone(),
            counters: partner_counters.clone(),
        });
    // Probes segments and measures loudness for the conformance checks (the API's and pages').
    let inspector: Arc<dyn onair_control::conformance::MediaInspector> =
        Arc::new(crate::conformance::MediaFolderInspector {
            media_root: config.storage.media_dir(),
        });
    // How many checks run at once and how often a user starts one: one count for the API's
    // and the pages'.
    let conformance_limiter = onair_control::conformance::ConformanceLimiter::default();
    let conformance_api = onair_web_ui::api::conformance::router(
        onair_web_ui::api::conformance::ConformanceApiState {
            store: store.clone(),
            clock: clock.clone(),
            inspector: Some(inspector.clone()),
            limiter: conformance_limiter.clone(),
        },
    );
    let sessions = onair_web_ui::sessions::router(session_state.clone());
    let ads_api = onair_web_ui::api::ads::router(onair_web_ui::api::ads::AdsApiState {
        store: store.clone(),
        clock: clock.clone(),
    });
    let access = onair_web_ui::access::AccessState {
        accounts: startup::accounts(store.clone()),
        bootstrap_token: config
            .http
            .api_token
            .as_ref()
            .map(|token| Arc::from(token.expose())),
        secure_cookies: config.http.secure_cookies,
        trusted_proxies: config.http.trusted_proxies.clone(),
    };
    // Every channel's status, once a second on one task, for the channels page and the desk.
    let status_board = onair_control::status::StatusBoard::spawn(
        startup::control(config, store.clone()),
        plans.clone(),
        std::time::Duration::from_secs(1),
    );
    // The plans the preview keeps: one cache for the pages and the API.
    let plan_cache = onair_control::PlanCache::default();
    let pages = onair_web_ui::router().merge(onair_web_ui::pages::router(
        onair_web_ui::pages::PagesState {
            access: access.clone(),
            store: store.clone(),
            clock: clock.clone(),
            lock_margin: config.playout.lock_margin_ticks(),
            plans: plans.clone(),
            directory: directory.clone(),
            media_root: config.storage.media_dir(),
            status: status_board.clone(),
            plan_cache: plan_cache.clone(),
            inspector: Some(inspector),
            conformance_limiter,
        },
    ));
    let settings = config.transcode.farm_settings(&config.storage);
    let farm_api = onair_transcode::api::ApiState {
        store: store.clone(),
        settings: Arc::new(settings.clone()),
    };
    // The farm's API, and resumable uploads in chunks (the asset library's).
    let api = onair_transcode::api::router(farm_api.clone())
        .merge(onair_transcode::uploads::router(farm_api));
    let schedule_state = onair_web_ui::api::ScheduleApiState {
        store: store.clone(),
        clock: clock.clone(),
        lock_margin: config.playout.lock_margin_ticks(),
        plan_cache,
    };
    let schedule_api = onair_web_ui::api::router(schedule_state.clone());
    let grid_api = onair_web_ui::api::grid::router(schedule_state);
    let manage_api = onair_web_ui::api::manage::router(onair_web_ui::api::manage::ManageApiState {
        store: store.clone(),
        clock: clock.clone(),
        media_root: config.storage.media_dir(),
    });
    let as_run_api = onair_web_ui::api::as_run::router(onair_web_ui::api::as_run::AsRunApiState {
        store: store.clone(),
        plans: plans.clone(),
        clock: clock.clone(),
    });
    let live_api = onair_web_ui::api::live::router(onair_web_ui::api::live::LiveApiState {
        store: store.clone(),
        clock: clock.clone(),
    });
    // Each live source on its own as LL-HLS, fed by the ingest.
    let ll_outputs = Arc::new(onair_playout::llhls::LlOutputs::default());
    let llhls = onair_web_ui::llhls::router(onair_web_ui::llhls::LlHlsState {
        outputs: ll_outputs.clone(),
        media_root: config.storage.media_dir(),
    });
    let epg = onair_web_ui::epg::router(onair_web_ui::epg::EpgState {
        channels: plans.clone(),
        clock: clock.clone(),
        domain: onair_web_ui::epg::DEFAULT_XMLTV_DOMAIN.to_owned(),
    });
    let ops = onair_web_ui::ops::router(onair_web_ui::ops::OpsState {
        store: store.clone(),
        media_root: config.storage.media_dir(),
        metrics_token: config
            .http
            .metrics_token
            .as_ref()
            .map(|token| Arc::from(token.expose())),
        status: status_board.clone(),
        ads: ads.clone(),
        partners: partner_counters,
    });
    let app = origin
        .merge(ops)
        .merge(pages)
        .merge(api)
        .merge(schedule_api)
        .merge(grid_api)
        .merge(manage_api)
        .merge(as_run_api)
        .merge(ads_api)
        .merge(live_api)
        .merge(llhls)
        .merge(cued_segments)
        .merge(partner_urls)
        .merge(partners_api)
        .merge(conformance_api)
        .merge(sessions)
        .merge(epg)
        .merge(onair_web_ui::api::openapi::router(
            &onair_web_ui::api::openapi::document([onair_transcode::api::openapi()]),
        ))
        .merge(extra);
    // A data folder made by `onair demo` serves the demo's ad server too.
    let demo_ads = crate::demo_ads::dir(config);
    let app = if demo_ads.is_dir() {
        app.merge(crate::demo_ads::router(demo_ads))
    } else {
        app
    };
    // In front of every route (after routing, so they see the route): every request counted
    // by route, timed and given its request id; who may call what; implicit sessions.
    let app = onair_web_ui::ops::layered(app, access.clone(), session_state);

    let addr = config.http.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    ads.set_origin(&format!("http://{local}"));
    let worker = if config.transcode.embedded_worker {
        Some(onair_transcode::Worker::new(
            store.clone(),
            settings,
            onair_transcode::WorkerOptions::new(1),
        )?)
    } else {
        None
    };

    // One signal stops the HTTP server and the embedded worker.
    let stop_sender = Arc::new(watch::channel(false).0);
    let signal_task = tokio::spawn({
        let stop_sender = stop_sender.clone();
        async move {
            startup::shutdown_signal().await;
            let _ = stop_sender.send(true);
        }
    });
    let stopped = |mut stop: watch::Receiver<bool>| async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    // The status event streams end when the server stops (a graceful shutdown waits for them).
    let status_task = tokio::spawn({
        let stop = stop_sender.subscribe();
        async move {
            stopped(stop).await;
            status_board.close();
        }
    });
    let refresh_task = tokio::spawn(refresher.run(config.playout.refresh_interval));
    // A process that runs a transcode worker also makes the slates channels lack.
    let slate_task = config.transcode.embedded_worker.then(|| {
        tokio::spawn(crate::slates::keep_slates(
            config.clone(),
            startup::control(config, store.clone()),
            std::time::Duration::from_secs(10),
        ))
    });
    let ads_task = tokio::spawn(ads.clone().run());
    let sessions_task = tokio::spawn(purge_sessions(access.accounts.clone()));
    let uploads_task = tokio::spawn(purge_uploads(
        config.transcode.farm_settings(&config.storage),
    ));
    // Live: the slots of every channel's live items decided, and the listeners publishers send to.
    let live_airings = onair_control::live::LiveAiringsLoop::new(
        startup::control(config, store.clone()),
        directory.clone(),
        plans.clone(),
        live_times(config),
    );
    let live_task = tokio::spawn(
        live_airings
            .clone()
            .run(std::time::Duration::from_millis(250)),
    );
    let ingest = if config.live.enabled {
        start_ingest(config, &store, live_airings.clone(), ll_outputs).await
    } else {
        None
    };
    let creatives_task = config.transcode.embedded_worker.then(|| {
        tokio::spawn(crate::creatives::keep_creatives(
            store.clone(),
            config.transcode.farm_settings(&config.storage),
            crate::creatives::Origin {
                url: format!("http://{local}"),
                demo_ads_dir: crate::demo_ads::dir(config),
            },
            clock.clone(),
            std::time::Duration::from_secs(2),
        ))
    });
    let as_run_task = config.as_run.enabled.then(|| {
        let recorder =
            AsRunRecorder::new(store.clone(), plans.clone(), clock.clone(), &config.as_run)
                .with_live(directory.clone());
        let speed = config
            .playout
            .virtual_clock
            .as_ref()
            .map_or(1.0, |clock| clock.speed);
        let period = wall_period(config.as_run.interval, speed);
        tokio::spawn(recorder.run(period, stopped(stop_sender.subscribe())))
    });
    let worker_task = worker.map(|worker| {
        let stop = stop_sender.subscribe();
        tokio::spawn(async move {
            if let Err(error) = worker.run(stopped(stop)).await {
                tracing::error!(%error, "the embedded transcode worker stopped: jobs wait for `onair worker`");
            }
        })
    });

    // A stable line on stdout: tests and scripts read the port from it.
    println!("onair listening on http://{local}");
    tracing::info!(%local, "serving");
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stopped(stop_sender.subscribe()))
    .await
    .context("the HTTP server failed");
    let _ = stop_sender.send(true);
    signal_task.abort();
    if let Some(worker_task) = worker_task {
        // The worker hands its running job back to the queue before the process exits.
        let _ = worker_task.await;
    }
    if let Some(as_run_task) = as_run_task {
        // The last record: a clean stop leaves nothing to recover.
        let _ = as_run_task.await;
    }
    refresh_task.abort();
    status_task.abort();
    ads_task.abort();
    sessions_task.abort();
    uploads_task.abort();
    live_task.abort();
    if let Some(ingest) = ingest {
        ingest.shutdown().await;
    }
    if let Some(creatives_task) = creatives_task {
        creatives_task.abort();
    }
    if let Some(slate_task) = slate_task {
        slate_task.abort();
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// Deletes expired login sessions every hour (an expired one is refused anyway).
async fn purge_sessions(accounts: onair_control::accounts::Accounts) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3_600));
    loop {
        tick.tick().await;
        match accounts.purge_expired_sessions().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired login sessions deleted"),
            Err(refusal) => tracing::warn!(%refusal, "cannot delete expired login sessions"),
        }
    }
}

/// Removes uploads in chunks untouched for a day, every hour.
async fn purge_uploads(settings: onair_transcode::FarmSettings) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3_600));
    loop {
        tick.tick().await;
        match onair_transcode::uploads::purge_stale_uploads(
            &settings,
            std::time::Duration::from_secs(24 * 3_600),
        )
        .await
        {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "stale uploads removed"),
            Err(error) => tracing::warn!(%error, "cannot remove stale uploads"),
        }
    }
}

/// Refuses to listen beyond this machine (an address other than loopback) while no enabled
/// user holds the admin role on every channel: whoever reaches the port first would otherwise
/// find no one in charge.
async fn refuse_open_to_all_without_admin(
    config: &Config,
    store: &onair_store::Store,
) -> anyhow::Result<()> {
    let addr = config.http.addr;
    if addr.ip().is_loopback() {
        return Ok(());
    }
    let accounts = startup::accounts(store.clone());
    if !accounts
        .has_admin()
        .await
        .map_err(|refusal| anyhow::anyhow!("{refusal}"))?
    {
        anyhow::bail!(
            "onair serve would listen on {addr}, beyond this machine, and no account is admin \
             of every channel: make one first (onair user add NAME --role admin), or listen on \
             127.0.0.1 (http.addr, ONAIR_HTTP_ADDR)"
        );
    }
    Ok(())
}

/// When a live slot is decided, from `[live] grace`.
pub(crate) fn live_times(config: &Config) -> onair_control::live::LiveTimes {
    onair_control::live::LiveTimes {
        grace: onair_domain::Ticks::from_millis(
            i64::try_from(config.live.grace.as_millis()).unwrap_or(i64::MAX),
        ),
        ..onair_control::live::LiveTimes::default()
    }
}

/// Starts the RTMP and SRT listeners; `None` (loudly) when they cannot listen: the rest of the
/// server runs on, and live items air their fallback.
pub(crate) async fn start_ingest(
    config: &Config,
    store: &onair_store::Store,
    airings: Arc<onair_control::live::LiveAiringsLoop>,
    ll_outputs: Arc<onair_playout::llhls::LlOutputs>,
) -> Option<onair_live_ingest::IngestServer> {
    let ingest_config = onair_live_ingest::IngestConfig {
        rtmp: config.live.rtmp_addr,
        srt: config.live.srt_addr,
        stall_timeout: config.live.stall_timeout,
        ..onair_live_ingest::IngestConfig::default()
    };
    let bridge = crate::live::Bridge::new(
        startup::control(config, store.clone()),
        airings,
        config.storage.media_dir(),
        config.live.loudness,
        ll_outputs,
    );
    match onair_live_ingest::IngestServer::start(ingest_config, bridge).await {
        Ok(server) => {
            // A stable line on stdout: tests and scripts read the ingest ports from it.
            let rtmp = server
                .rtmp_address()
                .map_or("none".to_owned(), |addr| format!("rtmp://{addr}/live/KEY"));
            let srt = server.srt_address().map_or("none".to_owned(), |addr| {
                format!("srt://{addr}?streamid=publish:KEY")
            });
            println!("onair ingest {rtmp} {srt}");
            Some(server)
        }
        Err(error) => {
            tracing::error!(%error, "live ingest is off: live items air their fallback (set live.rtmp_addr / live.srt_addr, or ONAIR_RTMP_ADDR / ONAIR_SRT_ADDR)");
            None
        }
    }
}
