// The channels page and the on-air desk: one preview player (hls.js) that plays one channel at a
// time, and each channel's status kept current from the server's event stream
// (`/events/channels`): each `status` event carries the channel's status fragment, rendered and
// escaped by the server, which replaces the element with the same id.
(() => {
  'use strict';

  // The server's clock minus ours (ms): progress bars follow the server's clock, which may be a
  // virtual one.
  let clockOffset = 0;

  function syncClock(element) {
    const now = Number(element?.dataset.now);
    if (now > 0) clockOffset = now - Date.now();
  }

  function tickProgress() {
    const now = Date.now() + clockOffset;
    for (const bar of document.querySelectorAll('progress[data-start][data-end]')) {
      const start = Number(bar.dataset.start);
      const end = Number(bar.dataset.end);
      if (!(end > start)) continue;
      const value = Math.max(0, Math.min(1000, Math.round(((now - start) / (end - start)) * 1000)));
      bar.value = value;
      bar.textContent = `${Math.round(value / 10)}%`;
    }
  }

  // The preview: one <video id="player">, moved to the card it previews.
  const video = document.getElementById('player');
  let hls = null;

  function play(src) {
    if (!video) return;
    if (window.Hls && window.Hls.isSupported()) {
      if (hls === null) {
        hls = new window.Hls({ liveSyncDurationCount: 3 });
        hls.attachMedia(video);
        hls.on(window.Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
        window.onairHls = hls;
      }
      hls.loadSource(src);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = src;
      video.play().catch(() => {});
    }
  }

  function preview(slug, name) {
    if (!video) return;
    const slot = document.querySelector(`.preview-slot[data-slot="${CSS.escape(slug)}"]`);
    if (slot && video.parentElement !== slot) slot.appendChild(video);
    video.dataset.slug = slug;
    video.setAttribute('aria-label', `Preview of ${name}`);
    play(`/channels/${encodeURIComponent(slug)}/master.m3u8`);
    for (const button of document.querySelectorAll('button[data-preview]')) {
      button.setAttribute('aria-pressed', String(button.dataset.preview === slug));
    }
  }

  if (video && video.dataset.src) {
    play(video.dataset.src);
    for (const button of document.querySelectorAll('button[data-preview]')) {
      button.setAttribute('aria-pressed', String(button.dataset.preview === video.dataset.slug));
      button.addEventListener('click', () => preview(button.dataset.preview, button.dataset.name));
    }
  }

  // Live status.
  window.onairStatusEvents = 0;
  const live = document.querySelector('[data-events]');
  const note = document.getElementById('events-state');
  if (live && window.EventSource) {
    const source = new EventSource(live.dataset.events);
    source.addEventListener('open', () => {
      if (note) note.textContent = 'Live: cards update as the channels change.';
    });
    source.addEventListener('error', () => {
      if (note) note.textContent = 'The live status is interrupted: reconnecting…';
    });
    source.addEventListener('status', (event) => {
      let update;
      try {
        update = JSON.parse(event.data);
      } catch {
        return;
      }
      const old = document.getElementById(`status-${update.slug}`);
      if (!old) return;
      // The fragment is the server's, rendered by askama: every text in it is escaped.
      const template = document.createElement('template');
      template.innerHTML = update.html;
      const fresh = template.content.firstElementChild;
      if (!fresh || fresh.id !== old.id) return;
      old.replaceWith(fresh);
      syncClock(fresh);
      tickProgress();
      window.onairStatusEvents += 1;
      document.dispatchEvent(new CustomEvent('onair:status', { detail: { slug: update.slug } }));
    });
    window.onairEvents = source;
  }

  syncClock(document.querySelector('[data-now]'));
  tickProgress();
  setInterval(tickProgress, 1000);
})();
