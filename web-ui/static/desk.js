// The on-air desk's take live, slate now and return to schedule: each opens its confirmation
// dialog, and
// on confirmation sends the request to the live API with the schedule version the desk shows
// (If-Match) and the session's CSRF token, then shows the answer or the refusal and refreshes
// the live panel.
(() => {
  'use strict';

  const desk = document.querySelector('.desk');
  if (!desk) return;
  const slug = desk.dataset.slug;
  const zone = desk.dataset.zone;
  const answer = document.getElementById('desk-answer');
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';

  function localTime(text) {
    const at = new Date(text);
    if (Number.isNaN(at.getTime())) return text;
    try {
      return at.toLocaleTimeString('en-GB', { timeZone: zone, hour12: false });
    } catch {
      return at.toISOString();
    }
  }

  function say(text, problem) {
    answer.textContent = text;
    answer.className = problem ? 'problem' : 'ok';
  }

  function version() {
    return document.querySelector('#desk-live [data-version]')?.dataset.version ?? '';
  }

  function refreshLive() {
    if (window.htmx) window.htmx.trigger('#desk-live', 'refresh');
  }

  async function send(path, body) {
    const headers = { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf };
    const current = version();
    if (current !== '') headers['If-Match'] = `"${current}"`;
    const response = await fetch(`/api/channels/${encodeURIComponent(slug)}/${path}`, {
      method: 'POST',
      headers,
      credentials: 'same-origin',
      body: JSON.stringify(body),
    });
    let json = null;
    try {
      json = await response.json();
    } catch {
      json = null;
    }
    return { response, json };
  }

  function refusal(response, json) {
    const reason = json && typeof json.error === 'string' ? json.error : response.statusText;
    const stale = response.status === 409 && /version/i.test(reason) ? ' (The page has been refreshed: try again.)' : '';
    return `Refused (${response.status}): ${reason}${stale}`;
  }

  // Take live.
  const takeDialog = document.getElementById('take-dialog');
  const sourceSelect = document.getElementById('take-source');
  const sourceName = takeDialog?.querySelector('[data-role="source"]');
  sourceSelect?.addEventListener('change', () => {
    if (sourceName) sourceName.textContent = sourceSelect.value;
  });
  document.querySelector('button[data-action="take"]')?.addEventListener('click', () => {
    if (sourceName && sourceSelect) sourceName.textContent = sourceSelect.value;
    takeDialog.returnValue = '';
    takeDialog.showModal();
  });
  takeDialog?.addEventListener('close', async () => {
    if (takeDialog.returnValue !== 'confirm') return;
    const source = sourceSelect.value;
    say(`Taking live from ${source}…`, false);
    try {
      const { response, json } = await send('live/take', { source });
      if (response.ok && json) {
        say(`Taken: ${json.source} airs from ${localTime(json.start)} (${zone}).`, false);
      } else {
        say(refusal(response, json), true);
      }
    } catch (error) {
      say(`The request failed: ${error}`, true);
    }
    refreshLive();
  });

  // Slate now.
  const slateDialog = document.getElementById('slate-dialog');
  document.querySelector('button[data-action="slate"]')?.addEventListener('click', () => {
    slateDialog.returnValue = '';
    slateDialog.showModal();
  });
  slateDialog?.addEventListener('close', async () => {
    if (slateDialog.returnValue !== 'confirm') return;
    say('Putting the channel on its slate…', false);
    try {
      const { response, json } = await send('slate', {});
      if (response.ok && json) {
        say(`On slate: the slate airs from ${localTime(json.start)} (${zone}) until you return to the schedule.`, false);
      } else {
        say(refusal(response, json), true);
      }
    } catch (error) {
      say(`The request failed: ${error}`, true);
    }
    refreshLive();
  });

  // Return to schedule.
  const returnDialog = document.getElementById('return-dialog');
  document.querySelector('button[data-action="return"]')?.addEventListener('click', () => {
    returnDialog.returnValue = '';
    returnDialog.showModal();
  });
  returnDialog?.addEventListener('close', async () => {
    if (returnDialog.returnValue !== 'confirm') return;
    say('Returning to the schedule…', false);
    try {
      const { response, json } = await send('live/return', {});
      if (response.ok && json) {
        const when = json.end ? localTime(json.end) : 'the next boundary';
        say(`Returned: the schedule resumes at ${when} (${zone}).`, false);
      } else {
        say(refusal(response, json), true);
      }
    } catch (error) {
      say(`The request failed: ${error}`, true);
    }
    refreshLive();
  });
})();
