// The grid planner (/grid/{slug}): one FullCalendar per local day of the channel's zone.
//
// FullCalendar 6.1 cannot draw a 23- or 25-hour day in a named zone, so every calendar runs in
// UTC and its axis is the time elapsed since the day's local midnight (which the server sends,
// with the day's length): an instant t shows at Date.UTC(D) + (t - midnight(D)), and back.
// Labels and times are the true local wall-clock times, from the instant, with
// Intl.DateTimeFormat in the channel's zone. Every column runs to the longest day shown; the
// tail of a shorter day is shaded and takes no drop.
//
// Every edit is sent at once as a PUT of the shown days' window with the version the page
// loaded (If-Match); a refusal lists every problem and the grid goes back to what is published.
// An accepted edit answers the window's items as they now air: the grid then draws the ends the
// server answers (a resized item cut at its asset's segment boundary), not its own estimate.
//
// An item's programme metadata (`info`: episode, description, genres, rating, artwork) goes
// with it in every PUT, so a move keeps it; the editor's Programme form publishes it the same
// way, `info` titled as the item (only the title: what was stored is cleared).
(() => {
  'use strict';
  const root = document.getElementById('grid');
  if (!root || !window.FullCalendar) return;
  const data = JSON.parse(root.dataset.grid);
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
  const statusBox = document.getElementById('grid-status');
  const zone = data.zone;
  const HOUR = 3_600_000;

  // --- Time: instants, local wall clock, the per-day axis -----------------------------------

  const days = data.days.map((day) => {
    const [y, m, d] = day.date.split('-').map(Number);
    const midnight = Date.parse(day.midnight);
    return { date: day.date, midnight, length: day.length_ms, end: midnight + day.length_ms, axis: Date.UTC(y, m - 1, d) };
  });
  const longest = Math.max(...days.map((day) => day.length));
  const rangeFrom = Date.parse(data.from);
  const rangeTo = Date.parse(data.to);
  const toAxis = (day, instant) => new Date(day.axis + (instant - day.midnight));
  const fromAxis = (day, date) => day.midnight + (date.getTime() - day.axis);
  const clockFormat = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const secondsFormat = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  const dateFormat = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const localClock = (instant) => clockFormat.format(new Date(instant));
  const localTime = (instant) => secondsFormat.format(new Date(instant));
  const localDate = (instant) => dateFormat.format(new Date(instant));
  const rfc3339 = (instant) => new Date(instant).toISOString();
  const pad = (n) => String(n).padStart(2, '0');
  const durationText = (ms) => {
    const total = Math.round(ms / 1000);
    return `${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}`;
  };
  const shortDuration = (ms) => {
    const total = Math.round(ms / 1000);
    return total >= 3600 ? durationText(ms) : `${Math.floor(total / 60)}:${pad(total % 60)}`;
  };

  // --- The model: what is published ------------------------------------------------------

  let version = data.version;
  const lockHorizon = Date.parse(data.lock_horizon);
  let nextKey = 1;
  const withKey = (item) => ({ ...item, key: nextKey++ });
  /** The published items (starts and ends as instants in ms), each with a key of the page's. */
  const fromServer = (item) => ({ ...item, start: Date.parse(item.start), end: Date.parse(item.end) });
  let items = data.items.map((item) => withKey(fromServer(item)));
  let busy = false;
  let selectedKey = null;
  const assetLengths = new Map(items.filter((item) => item.asset_ms !== null).map((item) => [item.asset_id, item.asset_ms]));

  /** Where an item ends, estimated until the server answers: its length (else the whole asset), plus the breaks that air (none past its length). */
  const itemEnd = (item) => {
    const asset = item.asset_ms ?? assetLengths.get(item.asset_id) ?? 0;
    const length = item.length_ms ?? null;
    const content = length === null ? asset : Math.min(length, asset);
    const breaks = item.ad_breaks.filter((ad) => length === null || ad.offset_ms <= length);
    return item.start + content + breaks.reduce((sum, ad) => sum + ad.duration_ms, 0);
  };
  /**
   * The length an item aired from `start` to `end` has: the time minus the breaks that air
   * before `end` (a break the end falls inside counts as cut).
   */
  const lengthFor = (item, end) => {
    let breaks = 0;
    for (const ad of [...item.ad_breaks].sort((a, b) => a.offset_ms - b.offset_ms)) {
      if (end - item.start < ad.offset_ms + breaks + ad.duration_ms) break;
      breaks += ad.duration_ms;
    }
    return Math.max(0, Math.round(end - item.start - breaks));
  };
  /** The items whose start is in the shown window: what a PUT of the window carries. */
  const inWindow = (list) => list.filter((item) => item.start >= rangeFrom && item.start < rangeTo);
  const draft = (item) => ({
    asset_id: item.asset_id,
    start: rfc3339(item.start),
    hard_start: item.hard_start,
    title: item.title,
    ...(item.length_ms == null ? {} : { length_ms: item.length_ms }),
    ad_breaks: item.ad_breaks.map((ad) => ({ offset_ms: ad.offset_ms, duration_ms: ad.duration_ms })),
    // Its programme metadata goes with it, so a move keeps its episode in the EPG.
    ...(item.info ? { info: item.info } : {}),
  });
  /**
   * The server's items after a publication, keeping the key of the item each one was sent as
   * (same start, asset and title), so the selection and the calendars' events stay put.
   */
  const adopt = (answered, sent) => {
    const unclaimed = [...sent];
    return answered.map((raw) => {
      const item = fromServer(raw);
      const at = unclaimed.findIndex((other) => other.start === item.start && other.asset_id === item.asset_id && other.title === item.title);
      if (at < 0) return withKey(item);
      const [match] = unclaimed.splice(at, 1);
      return { ...item, key: match.key };
    });
  };

  // --- Messages ---------------------------------------------------------------------------

  function say(kind, lines, action = null) {
    statusBox.replaceChildren();
    statusBox.dataset.kind = kind;
    if (lines.length === 0) return;
    const first = document.createElement('p');
    first.textContent = lines[0];
    statusBox.append(first);
    if (lines.length > 1) {
      const list = document.createElement('ul');
      for (const line of lines.slice(1)) {
        const entry = document.createElement('li');
        entry.textContent = line;
        list.append(entry);
      }
      statusBox.append(list);
    }
    if (action) statusBox.append(action);
  }

  function reloadButton() {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Reload';
    button.addEventListener('click', () => window.location.reload());
    return button;
  }

  // --- Calendars --------------------------------------------------------------------------

  const scale = document.getElementById('grid-scale');
  const lengths = items.map((item) => item.end - item.start).sort((a, b) => a - b);
  const median = lengths.length ? lengths[Math.floor(lengths.length / 2)] : HOUR;
  const storedScale = window.localStorage?.getItem('onair.grid.scale');
  scale.value = storedScale ?? (median < 10 * 60_000 ? '00:05:00' : '00:30:00');
  if (!scale.value) scale.value = '00:30:00';

  const container = document.getElementById('grid-days');
  const calendars = [];

  function eventsOf(day) {
    const shown = [];
    for (const item of items) {
      const end = Math.max(item.end, item.start + 1000);
      if (item.start >= day.end || end <= day.midnight) continue;
      const continued = item.start < day.midnight;
      const pieceStart = Math.max(item.start, day.midnight);
      const pieceEnd = Math.min(end, day.end);
      // Resized by its bottom edge where that edge is its end (not a piece cut at midnight).
      const resizable = data.can_edit && !continued && end <= day.end && item.asset_ms !== null;
      const classNames = [];
      if (continued) classNames.push('continuation');
      if (!item.hard_start) classNames.push('soft-start');
      shown.push({
        id: `${item.key}@${day.date}`,
        title: item.title,
        start: toAxis(day, pieceStart),
        end: toAxis(day, pieceEnd),
        editable: data.can_edit && !continued,
        startEditable: data.can_edit && !continued,
        durationEditable: resizable,
        classNames,
        extendedProps: { key: item.key, continued },
      });
    }
    return shown;
  }

  function findItem(key) {
    return items.find((item) => item.key === key);
  }

  function render() {
    for (const { calendar, day } of calendars) {
      calendar.batchRendering(() => {
        calendar.removeAllEvents();
        calendar.addEventSource(eventsOf(day));
      });
    }
    showEditor();
  }

  function eventContent(arg) {
    const item = findItem(arg.event.extendedProps.key);
    if (!item) return { domNodes: [document.createTextNode(arg.event.title)] };
    const time = document.createElement('div');
    time.className = 'event-time';
    time.textContent = `${localClock(item.start)}–${localClock(item.end)}${item.hard_start ? '' : ' (follows)'}${item.ad_breaks.length ? ` · ${item.ad_breaks.length} break${item.ad_breaks.length > 1 ? 's' : ''}` : ''}`;
    const title = document.createElement('div');
    title.className = 'event-title';
    title.textContent = item.title;
    // What the eye gets from the item's look, for screen readers; the name is its visible text.
    const more = document.createElement('span');
    more.className = 'visually-hidden';
    more.textContent = `${item.hard_start ? ', hard start' : ''}${arg.event.extendedProps.continued ? ', from the day before' : ''}`;
    return { domNodes: [time, title, more] };
  }

  function eventDidMount(arg) {
    const item = findItem(arg.event.extendedProps.key);
    if (!item) return;
    const el = arg.el;
    el.dataset.testid = 'grid-item';
    el.dataset.start = rfc3339(item.start);
    el.dataset.end = rfc3339(item.end);
    el.dataset.assetId = String(item.asset_id);
    if (arg.event.extendedProps.continued) el.dataset.continued = 'true';
    el.tabIndex = 0;
    el.setAttribute('role', 'button');
    el.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        select(item.key);
      }
    });
  }

  /** A slot's time of day on the axis (FullCalendar dates slot labels and lanes on a day of its own). */
  const slotElapsed = (arg) => (arg.time.days ?? 0) * 86_400_000 + (arg.time.milliseconds ?? 0);

  function slotLabel(day, arg) {
    const elapsed = slotElapsed(arg);
    const span = document.createElement('span');
    span.className = 'hour-label';
    span.textContent = elapsed < day.length ? localClock(day.midnight + elapsed) : '';
    return { domNodes: [span] };
  }

  function allowed(day, span) {
    if (busy || !data.can_edit) return false;
    const start = fromAxis(day, span.start);
    return start >= day.midnight && start < day.end;
  }

  function makeCalendar(day) {
    const column = document.createElement('div');
    column.className = 'grid-day';
    if (day.date === localDate(Date.now())) column.classList.add('today');
    const heading = document.createElement('h3');
    heading.textContent = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short' }).format(new Date(day.axis));
    const hours = document.createElement('span');
    hours.className = 'day-length';
    hours.textContent = ` · ${Math.round(day.length / HOUR)} h`;
    heading.append(hours);
    const holder = document.createElement('div');
    holder.dataset.testid = `day-${day.date}`;
    column.append(heading, holder);
    container.append(column);
    const calendar = new FullCalendar.Calendar(holder, {
      timeZone: 'UTC',
      initialView: 'timeGridDay',
      initialDate: day.date,
      headerToolbar: false,
      dayHeaders: false,
      allDaySlot: false,
      nowIndicator: false,
      slotMinTime: '00:00:00',
      slotMaxTime: durationText(longest),
      slotDuration: scale.value,
      snapDuration: scale.value,
      slotLabelInterval: '01:00:00',
      contentHeight: 'auto',
      expandRows: false,
      editable: data.can_edit,
      droppable: data.can_edit,
      eventDurationEditable: data.can_edit,
      eventResizableFromStart: false,
      eventInteractive: true,
      eventOverlap: true,
      slotEventOverlap: false,
      eventMinHeight: 12,
      eventTimeFormat: { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
      slotLabelContent: (arg) => slotLabel(day, arg),
      slotLaneClassNames: (arg) => {
        const elapsed = slotElapsed(arg);
        if (elapsed >= day.length) return ['beyond-day'];
        return day.midnight + elapsed < lockHorizon ? ['locked-lane'] : [];
      },
      eventContent,
      eventDidMount,
      eventAllow: (span) => allowed(day, span),
      eventClick: (info) => { info.jsEvent.preventDefault(); select(info.event.extendedProps.key); },
      eventDrop: (info) => moved(day, info),
      eventResize: (info) => resized(day, info),
      eventReceive: (info) => received(day, info),
      eventLeave: () => {},
    });
    calendar.render();
    calendars.push({ calendar, day, column });
  }

  // --- Edits ------------------------------------------------------------------------------

  /** Sends `next` (the whole model after an edit) as the shown window; reverts on a refusal. */
  async function publish(next, what, revert) {
    busy = true;
    say('info', [`Publishing: ${what}…`]);
    let response;
    try {
      response = await fetch(`/api/channels/${encodeURIComponent(data.slug)}/schedule`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'if-match': `"${version}"`, 'x-csrf-token': csrf },
        body: JSON.stringify({ from: data.from, to: data.to, items: inWindow(next).map(draft) }),
      });
    } catch (error) {
      busy = false;
      revert();
      render();
      say('error', [`Not published: the server could not be reached (${error.message}). The grid shows what is published.`]);
      return false;
    }
    const body = await response.json().catch(() => ({}));
    busy = false;
    if (response.ok) {
      version = body.version;
      document.querySelectorAll('[data-testid="version"]').forEach((el) => { el.textContent = String(version); });
      document.querySelectorAll('input[name="version"]').forEach((el) => { el.value = String(version); });
      items = Array.isArray(body.items) ? adopt(body.items, next) : next;
      for (const item of items) if (item.asset_ms != null) assetLengths.set(item.asset_id, item.asset_ms);
      render();
      say('ok', [`Published as version ${version}: ${what}.`]);
      loadPlan();
      loadVersions();
      return true;
    }
    revert();
    render();
    if (response.status === 409 && !body.lock_horizon) {
      await conflict(body);
    } else if (response.status === 409) {
      say('error', [`Refused: ${body.error}`, `Nothing before ${localTime(Date.parse(body.lock_horizon))} (${localDate(Date.parse(body.lock_horizon))}) can change. The grid shows what is published.`]);
    } else if (response.status === 422 && Array.isArray(body.errors)) {
      const sent = inWindow(next);
      const lines = body.errors.map((problem) => {
        const item = problem.index === undefined ? null : sent[problem.index];
        return item ? `${item.title} at ${localTime(item.start)}: ${problem.message}` : problem.message;
      });
      say('error', [`Refused, the grid shows what is published; ${lines.length === 1 ? 'the problem' : `${lines.length} problems`}:`, ...lines]);
    } else {
      say('error', [`Refused (${response.status}): ${body.error ?? response.statusText}. The grid shows what is published.`]);
    }
    return false;
  }

  async function conflict(body) {
    let who = 'someone else';
    try {
      const answer = await fetch(`/api/channels/${encodeURIComponent(data.slug)}/schedule/versions`);
      const newest = (await answer.json()).versions?.[0];
      if (newest && newest.version > version) {
        who = `${newest.author} (version ${newest.version}, ${localTime(Date.parse(newest.published_at))})`;
      }
    } catch {
      // The message below still says what happened.
    }
    say('error', [`Changed by ${who} meanwhile: your change was not published. Reload to see the schedule as it is now, then make your change again.`, body.error ?? ''].filter(Boolean), reloadButton());
  }

  function moved(day, info) {
    const key = info.event.extendedProps.key;
    const item = findItem(key);
    if (!item) { info.revert(); return; }
    const start = fromAxis(day, info.event.start);
    const next = items.map((other) => (other.key === key ? { ...other, start, end: itemEnd({ ...other, start }) } : other));
    publish(next, `${item.title} moved to ${localTime(start)} (${localDate(start)})`, () => info.revert());
  }

  function resized(day, info) {
    const key = info.event.extendedProps.key;
    const item = findItem(key);
    if (!item) { info.revert(); return; }
    const length = lengthFor(item, fromAxis(day, info.event.end));
    if (length <= 0) { info.revert(); return; }
    const next = items.map((other) => (other.key === key ? { ...other, length_ms: length, end: itemEnd({ ...other, length_ms: length }) } : other));
    publish(next, `${item.title} resized to ${shortDuration(length)}`, () => info.revert());
  }

  function received(day, info) {
    const props = info.event.extendedProps;
    const start = fromAxis(day, info.event.start);
    if (props.key !== undefined) {
      // Moved here from another day's calendar (eventLeave took it from there).
      const item = findItem(props.key);
      if (!item) { info.revert(); render(); return; }
      const next = items.map((other) => (other.key === props.key ? { ...other, start, end: itemEnd({ ...other, start }) } : other));
      publish(next, `${item.title} moved to ${localTime(start)} (${localDate(start)})`, () => info.revert());
      return;
    }
    const assetId = Number(props.assetId);
    const assetMs = Number(props.assetMs);
    assetLengths.set(assetId, assetMs);
    const added = withKey({ id: null, asset_id: assetId, title: props.assetTitle, start, hard_start: true, ad_breaks: [], asset_ms: assetMs, length_ms: null });
    added.end = itemEnd(added);
    publish([...items, added], `${added.title} added at ${localTime(start)} (${localDate(start)})`, () => info.revert());
  }

  function change(key, edit, what) {
    const next = items.map((item) => {
      if (item.key !== key) return item;
      const changed = edit({ ...item, ad_breaks: item.ad_breaks.map((ad) => ({ ...ad })) });
      return { ...changed, end: itemEnd(changed) };
    });
    return publish(next, what, () => {});
  }

  // --- The item editor --------------------------------------------------------------------

  const editor = document.getElementById('item-editor');
  /** The item whose info the Programme form holds (what was typed is kept until another is shown). */
  let programmeShownFor = null;
  const programmeField = (name) => document.getElementById(`programme-${name}`);

  /** The episode as the EPG numbers it: "S2 E4 · Where the river meets the sea". */
  function episodeLine(info) {
    const number = [info.season ? `S${info.season}` : '', info.episode ? `E${info.episode}` : ''].filter(Boolean).join(' ');
    return [number, info.episode_title?.trim() ?? ''].filter(Boolean).join(' · ');
  }

  /** What the EPG lists for an item beyond its title, in a line. */
  function listedAs(info) {
    if (!info) return 'its title only';
    const parts = [episodeLine(info)];
    if (info.genres?.length) parts.push(info.genres.join(', '));
    if (info.rating) parts.push(`rated ${info.rating.value}${info.rating.system ? ` (${info.rating.system})` : ''}`);
    if (info.description) parts.push('a description');
    if (info.artwork_url) parts.push('artwork');
    return parts.filter(Boolean).join('; ') || 'its title only';
  }

  function fillProgramme(info) {
    const set = (name, value) => { programmeField(name).value = value == null ? '' : String(value); };
    set('episode-title', info?.episode_title);
    set('season', info?.season);
    set('episode', info?.episode);
    set('description', info?.description);
    set('genres', (info?.genres ?? []).join(', '));
    set('rating-system', info?.rating?.system);
    set('rating-value', info?.rating?.value);
    set('artwork', info?.artwork_url);
  }

  /**
   * The Programme form as `info` for `item` (titled as the item, empty fields left out), or
   * `{ problem }` when a field cannot be sent as typed.
   */
  function programmeInfo(item) {
    const text = (name) => programmeField(name).value.trim();
    const info = { title: item.title };
    if (text('episode-title')) info.episode_title = text('episode-title');
    for (const name of ['season', 'episode']) {
      if (text(name) === '') continue;
      const number = Number(text(name));
      if (!Number.isInteger(number)) return { problem: `the ${name} ${JSON.stringify(text(name))} is not a whole number` };
      info[name] = number;
    }
    if (text('description')) info.description = text('description');
    const genres = text('genres').split(',').map((genre) => genre.trim()).filter(Boolean);
    if (genres.length) info.genres = genres;
    if (text('rating-value')) {
      info.rating = { value: text('rating-value'), ...(text('rating-system') ? { system: text('rating-system') } : {}) };
    } else if (text('rating-system')) {
      return { problem: `the rating system ${JSON.stringify(text('rating-system'))} has no rating value` };
    }
    if (text('artwork')) info.artwork_url = text('artwork');
    return { info };
  }

  function select(key) {
    selectedKey = key;
    programmeShownFor = null;
    showEditor();
    if (editor && !editor.hidden) document.getElementById('editor-hard').focus();
  }

  function showEditor() {
    if (!editor) return;
    const item = selectedKey === null ? null : findItem(selectedKey);
    if (!item || !data.can_edit || item.start < rangeFrom) {
      editor.hidden = true;
      programmeShownFor = null;
      return;
    }
    editor.hidden = false;
    document.getElementById('editor-item-title').textContent = item.title;
    document.getElementById('editor-listed').textContent = listedAs(item.info);
    if (programmeShownFor !== item.key) {
      fillProgramme(item.info);
      programmeShownFor = item.key;
    }
    document.getElementById('editor-start').textContent = `${localTime(item.start)} (${localDate(item.start)})`;
    document.getElementById('editor-end').textContent = `${localTime(item.end)} (${localDate(item.end)})`;
    const hard = document.getElementById('editor-hard');
    hard.checked = item.hard_start;
    hard.disabled = busy;
    const lengthInput = document.getElementById('length-text');
    if (document.activeElement !== lengthInput) lengthInput.value = item.length_ms == null ? '' : clockText(item.length_ms);
    const asset = item.asset_ms ?? assetLengths.get(item.asset_id);
    document.getElementById('length-note').textContent = asset === undefined ? '' : `the whole asset: ${clockText(asset)}`;
    const list = document.getElementById('editor-breaks');
    list.replaceChildren();
    item.ad_breaks.forEach((ad, index) => {
      const entry = document.createElement('li');
      entry.textContent = `${shortDuration(ad.duration_ms)} at ${shortDuration(ad.offset_ms)} `;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = 'Remove';
      remove.setAttribute('aria-label', `Remove the break at ${shortDuration(ad.offset_ms)}`);
      remove.addEventListener('click', () => change(item.key, (edited) => {
        edited.ad_breaks.splice(index, 1);
        return edited;
      }, `break removed from ${item.title}`));
      entry.append(remove);
      list.append(entry);
    });
    if (item.ad_breaks.length === 0) {
      const none = document.createElement('li');
      none.textContent = 'None';
      list.append(none);
    }
  }

  /** A length as minutes:seconds (hours:minutes:seconds from an hour), milliseconds kept. */
  function clockText(ms) {
    const millis = ms % 1000;
    const text = shortDuration(ms - millis);
    return millis ? `${text}.${String(millis).padStart(3, '0')}` : text;
  }

  /** Milliseconds from `m:ss`, `h:mm:ss` or whole minutes (`25`); `null` for empty text; `NaN` when unreadable. */
  function parseLength(text) {
    const trimmed = text.trim();
    if (trimmed === '') return null;
    if (!/^\d+(:\d{1,2}){0,2}(\.\d{1,3})?$/.test(trimmed)) return Number.NaN;
    const parts = trimmed.split(':').map(Number);
    if (parts.length === 1) return Math.round(parts[0] * 60_000);
    if (parts.slice(1).some((part) => part >= 60)) return Number.NaN;
    return Math.round(parts.reduce((total, part) => total * 60 + part, 0) * 1000);
  }

  if (editor) {
    document.getElementById('editor-hard').addEventListener('change', (event) => {
      const item = findItem(selectedKey);
      if (!item) return;
      const hard = event.target.checked;
      change(item.key, (edited) => ({ ...edited, hard_start: hard }), `${item.title} ${hard ? 'given a hard start' : 'set to follow the item before'}`);
    });
    // Moving without a mouse: by whole minutes of elapsed time (so across a DST change too),
    // inside the days shown (a PUT carries the shown window: an item moved out of it would go).
    document.getElementById('editor-move').addEventListener('submit', (event) => {
      event.preventDefault();
      const item = findItem(selectedKey);
      if (!item) return;
      const minutes = Math.round(Number(document.getElementById('move-minutes').value));
      const direction = Number(event.submitter?.value ?? 1);
      const start = item.start + direction * minutes * 60_000;
      if (start < rangeFrom || start >= rangeTo) {
        say('error', [`Not moved: ${localTime(start)} (${localDate(start)}) is not on the days shown. Show that day (or the week) and move it there.`]);
        return;
      }
      change(item.key, (edited) => ({ ...edited, start }), `${item.title} moved to ${localTime(start)} (${localDate(start)})`);
    });
    document.getElementById('editor-length').addEventListener('submit', (event) => {
      event.preventDefault();
      const item = findItem(selectedKey);
      if (!item) return;
      const text = document.getElementById('length-text').value;
      const length = parseLength(text);
      if (Number.isNaN(length) || length === 0) {
        say('error', [`Not changed: the length ${JSON.stringify(text.trim())} is not minutes:seconds like 25:00 (or empty, for the whole asset).`]);
        return;
      }
      change(item.key, (edited) => ({ ...edited, length_ms: length }), length === null ? `${item.title} airs its whole asset` : `${item.title} resized to ${clockText(length)}`);
    });
    document.getElementById('editor-add-break').addEventListener('submit', (event) => {
      event.preventDefault();
      const item = findItem(selectedKey);
      if (!item) return;
      const offset = Math.round(Number(document.getElementById('break-offset').value) * 1000);
      const duration = Math.round(Number(document.getElementById('break-duration').value) * 1000);
      change(item.key, (edited) => {
        edited.ad_breaks.push({ offset_ms: offset, duration_ms: duration });
        edited.ad_breaks.sort((a, b) => a.offset_ms - b.offset_ms);
        return edited;
      }, `break added to ${item.title}`);
    });
    document.getElementById('editor-programme').addEventListener('submit', async (event) => {
      event.preventDefault();
      const item = findItem(selectedKey);
      if (!item) return;
      const { info, problem } = programmeInfo(item);
      if (problem) {
        say('error', [`Not changed: ${problem}.`]);
        return;
      }
      const cleared = Object.keys(info).length === 1;
      const published = await change(item.key, (edited) => ({ ...edited, info }), cleared ? `programme details of ${item.title} cleared` : `programme details of ${item.title} set`);
      // Accepted: the form shows what the server stored; refused: what was typed stays, to fix.
      if (published) {
        programmeShownFor = null;
        showEditor();
      }
    });
    document.getElementById('editor-delete').addEventListener('click', () => {
      const item = findItem(selectedKey);
      if (!item) return;
      selectedKey = null;
      publish(items.filter((other) => other.key !== item.key), `${item.title} at ${localTime(item.start)} deleted`, () => { selectedKey = item.key; });
    });
    document.getElementById('editor-close').addEventListener('click', () => { selectedKey = null; showEditor(); });
  }

  // --- The library ------------------------------------------------------------------------

  const library = document.getElementById('library');
  if (library && data.can_edit) {
    library.hidden = false;
    const list = document.getElementById('library-list');
    const search = document.getElementById('library-search');
    let asked = 0;
    async function find() {
      const ask = ++asked;
      const params = new URLSearchParams({ state: 'ready', limit: '100' });
      if (search.value.trim()) params.set('title', search.value.trim());
      const response = await fetch(`/api/assets?${params}`);
      if (ask !== asked) return;
      const body = await response.json().catch(() => ({ assets: [] }));
      list.replaceChildren();
      const usable = (body.assets ?? []).filter((asset) => asset.ladder_id === data.ladder_id);
      for (const asset of usable) {
        const entry = document.createElement('li');
        entry.className = 'library-asset';
        entry.tabIndex = 0;
        entry.dataset.assetId = String(asset.id);
        entry.dataset.assetMs = String(asset.duration_ms);
        entry.dataset.assetTitle = asset.title;
        entry.textContent = `${asset.title} (${shortDuration(asset.duration_ms)})`;
        list.append(entry);
      }
      if (usable.length === 0) {
        const none = document.createElement('li');
        none.textContent = 'No ready asset matches.';
        none.className = 'none';
        list.append(none);
      }
    }
    let timer = null;
    search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(find, 200); });
    new FullCalendar.Draggable(list, {
      itemSelector: '.library-asset',
      eventData: (el) => ({
        title: el.dataset.assetTitle,
        duration: { milliseconds: Number(el.dataset.assetMs) },
        create: true,
        extendedProps: { assetId: el.dataset.assetId, assetMs: el.dataset.assetMs, assetTitle: el.dataset.assetTitle },
      }),
    });
    find();
  }

  // --- Plan preview and versions ------------------------------------------------------------

  async function loadPlan() {
    const panel = document.getElementById('plan-panel');
    panel.hidden = false;
    const summary = document.getElementById('plan-summary');
    const list = document.getElementById('plan-problems');
    try {
      const response = await fetch(`/api/channels/${encodeURIComponent(data.slug)}/plan?from=${encodeURIComponent(data.from)}&to=${encodeURIComponent(data.to)}`);
      const body = await response.json();
      if (!response.ok) throw new Error(body.error ?? response.statusText);
      const shown = (body.problems ?? []).filter((problem) => {
        if (!problem.at) return true;
        const at = Date.parse(problem.at);
        return at >= rangeFrom && at < rangeTo;
      });
      list.replaceChildren();
      const gaps = shown.filter((problem) => problem.kind.startsWith('gap_'));
      summary.textContent = shown.length === 0
        ? 'No problem and no gap in the days shown.'
        : `${shown.length} problem${shown.length > 1 ? 's' : ''} in the days shown, ${gaps.length} of them gap${gaps.length === 1 ? '' : 's'}:`;
      for (const problem of shown) {
        const entry = document.createElement('li');
        entry.dataset.kind = problem.kind;
        const at = problem.at ? `${localTime(Date.parse(problem.at))}: ` : '';
        entry.textContent = `${at}${problem.message}`;
        list.append(entry);
      }
    } catch (error) {
      summary.textContent = `The plan could not be previewed: ${error.message}`;
    }
  }

  const dialog = document.getElementById('restore-dialog');
  async function loadVersions() {
    const panel = document.getElementById('versions-panel');
    panel.hidden = false;
    const list = document.getElementById('versions-list');
    try {
      const response = await fetch(`/api/channels/${encodeURIComponent(data.slug)}/schedule/versions`);
      const body = await response.json();
      if (!response.ok) throw new Error(body.error ?? response.statusText);
      list.replaceChildren();
      const versions = body.versions ?? [];
      if (versions.length === 0) {
        const none = document.createElement('li');
        none.textContent = 'No version was published through the API yet.';
        list.append(none);
      }
      for (const entry of versions.slice(0, 50)) {
        const item = document.createElement('li');
        item.dataset.version = String(entry.version);
        const published = Date.parse(entry.published_at);
        item.textContent = `Version ${entry.version} by ${entry.author}, ${localDate(published)} ${localTime(published)} (${entry.items} items) `;
        if (data.can_edit && entry.version !== version) {
          const button = document.createElement('button');
          button.type = 'button';
          button.textContent = 'Restore';
          button.setAttribute('aria-label', `Restore version ${entry.version}`);
          button.addEventListener('click', () => confirmRestore(entry.version));
          item.append(button);
        } else if (entry.version === version) {
          const current = document.createElement('strong');
          current.textContent = '(current)';
          item.append(current);
        }
        list.append(item);
      }
    } catch (error) {
      list.replaceChildren();
      const failed = document.createElement('li');
      failed.textContent = `The versions could not be listed: ${error.message}`;
      list.append(failed);
    }
  }

  function confirmRestore(number) {
    document.getElementById('restore-number').textContent = String(number);
    document.getElementById('restore-number-2').textContent = String(number);
    dialog.returnValue = '';
    dialog.onclose = () => { if (dialog.returnValue === 'restore') restore(number); };
    dialog.showModal();
  }

  async function restore(number) {
    busy = true;
    say('info', [`Restoring version ${number}…`]);
    const response = await fetch(`/api/channels/${encodeURIComponent(data.slug)}/schedule/versions/${number}/restore`, {
      method: 'POST',
      headers: { 'if-match': `"${version}"`, 'x-csrf-token': csrf },
    });
    const body = await response.json().catch(() => ({}));
    busy = false;
    if (response.ok) {
      window.location.reload();
      return;
    }
    if (response.status === 409 && !body.lock_horizon) {
      await conflict(body);
    } else {
      say('error', [`Version ${number} was not restored: ${body.error ?? response.statusText}`]);
    }
  }

  // --- Start ------------------------------------------------------------------------------

  root.hidden = false;
  const table = document.getElementById('grid-table');
  const toggle = document.getElementById('grid-table-toggle');
  table.hidden = true;
  toggle.addEventListener('click', () => {
    table.hidden = !table.hidden;
    toggle.setAttribute('aria-expanded', String(!table.hidden));
    toggle.textContent = table.hidden ? 'Show as a table' : 'Hide the table';
  });
  for (const day of days) makeCalendar(day);
  render();
  scale.addEventListener('change', () => {
    window.localStorage?.setItem('onair.grid.scale', scale.value);
    for (const { calendar } of calendars) {
      calendar.setOption('slotDuration', scale.value);
      calendar.setOption('snapDuration', scale.value);
    }
  });
  loadPlan();
  loadVersions();
})();
