// The asset library's page: uploads sent in chunks to /api/uploads (resumed from the offset the
// server reports after a dropped chunk, or after a reload once the same file is picked again),
// imports from a URL (POST /api/assets), and each transcode job's progress (GET /api/jobs/{id},
// once a second) wherever the page shows a job. Plain ES2020; user text goes in as textContent.
(() => {
  'use strict';

  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
  const RETRIES = 5;
  const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

  const byId = (id) => document.getElementById(id);

  /** A JSON API call with the session's CSRF token: { ok, status, data }; throws on a network error. */
  async function api(method, url, { json, body, headers = {} } = {}) {
    const init = { method, credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf, ...headers } };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers['Content-Type'] = 'application/json';
    } else if (body !== undefined) {
      init.body = body;
    }
    const response = await fetch(url, init);
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    return { ok: response.ok, status: response.status, data };
  }

  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

  function size(bytes) {
    const units = [[2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']];
    for (const [unit, name] of units) {
      if (bytes >= unit) return `${(bytes / unit).toFixed(1)} ${name}`;
    }
    return `${bytes} bytes`;
  }

  /** Says `text` on a status line (announced politely) or an alert line (announced at once). */
  function say(element, text) {
    if (!element) return;
    element.textContent = text;
    element.hidden = text === '';
  }

  // -------------------------------------------------------------------------------------------
  // Transcode jobs: a line per job started here, and every [data-job-id] the server rendered.

  const finished = new Set();
  const announced = new Map();

  function describe(job) {
    switch (job.state) {
      case 'queued': return 'queued';
      case 'running': return `running ${job.progress} %`;
      case 'succeeded': return 'ready';
      case 'failed': return `failed: ${job.error ?? 'no reason given'}`;
      default: return job.state;
    }
  }

  function showJob(id, job) {
    for (const element of document.querySelectorAll(`[data-job-id="${CSS.escape(String(id))}"]`)) {
      const state = element.querySelector('[data-role="job-state"]');
      if (state) {
        state.textContent = describe(job);
        state.className = `badge ${job.state === 'succeeded' ? 'ok' : job.state === 'failed' || job.state === 'cancelled' ? 'problem' : 'warn'}`;
      }
      let progress = element.querySelector('progress');
      if (job.state === 'running') {
        if (!progress) {
          progress = document.createElement('progress');
          progress.max = 100;
          progress.setAttribute('aria-hidden', 'true');
          element.append(' ', progress);
        }
        progress.value = job.progress;
      } else if (progress && TERMINAL.has(job.state)) {
        progress.remove();
      }
      const error = element.querySelector('[data-role="job-error"]');
      if (error) say(error, job.state === 'failed' ? job.error ?? '' : '');
    }
    // Said once per state, not at every percent.
    if (announced.get(id) !== job.state) {
      announced.set(id, job.state);
      const name = document.querySelector(`[data-job-id="${CSS.escape(String(id))}"]`)?.dataset.jobTitle ?? `job ${id}`;
      say(byId('job-announce'), `${name}: ${describe(job)}`);
    }
  }

  /** The list again, as the page's address asks (a new or finished asset shows). */
  function refreshList() {
    const results = byId('results');
    if (!results || !window.htmx) return;
    window.htmx.ajax('GET', window.location.pathname + window.location.search, { target: '#results', swap: 'innerHTML' });
  }

  async function pollJobs() {
    const ids = new Set();
    for (const element of document.querySelectorAll('[data-job-id]')) {
      if (!finished.has(element.dataset.jobId)) ids.add(element.dataset.jobId);
    }
    let ended = false;
    for (const id of ids) {
      try {
        const answer = await api('GET', `/api/jobs/${encodeURIComponent(id)}`);
        if (!answer.ok) continue;
        showJob(id, answer.data);
        if (TERMINAL.has(answer.data.state)) {
          finished.add(id);
          ended = true;
        }
      } catch {
        // The next round asks again.
      }
    }
    if (ended) refreshList();
    setTimeout(pollJobs, 1000);
  }

  /** A line under the forms that follows a new job: its title, state, progress and asset. */
  function trackJob(queued, title) {
    const list = byId('jobs');
    if (!list) return;
    byId('jobs-title').hidden = false;
    const item = document.createElement('li');
    item.dataset.jobId = String(queued.job_id);
    item.dataset.jobTitle = title;
    item.dataset.testid = 'job';
    const link = document.createElement('a');
    link.href = `/library/${queued.asset_id}`;
    link.textContent = title;
    const state = document.createElement('span');
    state.dataset.role = 'job-state';
    state.className = 'badge warn';
    state.textContent = 'queued';
    const error = document.createElement('span');
    error.dataset.role = 'job-error';
    error.className = 'field-error';
    error.hidden = true;
    item.append(link, ': ', state, error);
    list.prepend(item);
  }

  // -------------------------------------------------------------------------------------------
  // Uploads in chunks

  const form = byId('upload-form');
  const fileInput = byId('upload-file');
  const progress = byId('upload-progress');
  const status = byId('upload-status');
  const alertLine = byId('upload-error');
  const resumeButton = byId('upload-resume');
  const cancelButton = byId('upload-cancel');
  const startButton = byId('upload-start');

  /** The bytes per chunk: the form's data-chunk-bytes (the page's ?chunk= sets it), else 8 MiB. */
  function chunkBytes() {
    const given = Number(form?.dataset.chunkBytes);
    return Number.isFinite(given) && given > 0 ? given : 8 * 1024 * 1024;
  }

  /** Where an unfinished upload of `file` is remembered across reloads. */
  const keyOf = (file) => `onair-upload:${file.name}:${file.size}:${file.lastModified}`;

  function remembered(file) {
    try { return JSON.parse(window.localStorage.getItem(keyOf(file)) ?? 'null'); } catch { return null; }
  }

  function remember(file, id) {
    try { window.localStorage.setItem(keyOf(file), JSON.stringify({ id, at: Date.now() })); } catch { /* private mode */ }
  }

  function forget(file) {
    try { window.localStorage.removeItem(keyOf(file)); } catch { /* private mode */ }
  }

  let current = null;

  class Upload {
    constructor(file, title, ladder) {
      this.file = file;
      this.title = title;
      this.ladder = ladder;
      this.id = null;
      this.offset = 0;
      this.stopped = false;
    }

    get url() { return `/api/uploads/${this.id}`; }

    showProgress() {
      const percent = this.file.size === 0 ? 100 : Math.floor((this.offset / this.file.size) * 100);
      progress.hidden = false;
      progress.value = percent;
      say(status, `Uploading “${this.file.name}”: ${size(this.offset)} of ${size(this.file.size)} (${percent} %)`);
    }

    fail(message) {
      say(status, '');
      say(alertLine, message);
      this.done();
    }

    done() {
      current = null;
      resumeButton.hidden = true;
      cancelButton.hidden = true;
      startButton.disabled = false;
    }

    /** Declares the upload, or picks up the one this file left unfinished. */
    async start() {
      say(alertLine, '');
      startButton.disabled = true;
      cancelButton.hidden = false;
      const earlier = remembered(this.file);
      if (earlier?.id) {
        try {
          const answer = await api('GET', `/api/uploads/${encodeURIComponent(earlier.id)}`);
          if (answer.ok) {
            this.id = earlier.id;
            this.offset = answer.data.offset;
            say(status, `Resuming the earlier upload of “${this.file.name}” from ${size(this.offset)}.`);
          } else {
            forget(this.file);
          }
        } catch {
          // Declared anew below.
        }
      }
      if (this.id === null) {
        const request = { name: this.file.name, size: this.file.size };
        if (this.title) request.title = this.title;
        if (this.ladder) request.ladder = this.ladder;
        let answer;
        try {
          answer = await api('POST', '/api/uploads', { json: request });
        } catch {
          this.fail('The server could not be reached: nothing was uploaded. Try again.');
          return;
        }
        if (!answer.ok) {
          const reason = answer.data?.error ?? `the server answered ${answer.status}`;
          this.fail(`“${this.file.name}” was not uploaded: ${reason}`);
          return;
        }
        this.id = answer.data.id;
        this.offset = answer.data.offset;
        remember(this.file, this.id);
      }
      await this.send();
    }

    /** Asks the server where the upload stands; false if it is gone. */
    async resync() {
      try {
        const answer = await api('GET', this.url);
        if (answer.ok) {
          this.offset = answer.data.offset;
          return true;
        }
        if (answer.status === 404) {
          forget(this.file);
          this.fail(answer.data?.error ?? 'The upload is gone from the server: start again.');
          return false;
        }
      } catch {
        // Still offline: the caller waits and asks again.
      }
      return true;
    }

    /** Sends the chunks from the offset the server confirmed, retrying with backoff. */
    async send() {
      resumeButton.hidden = true;
      let failures = 0;
      let conflicts = 0;
      const chunk = chunkBytes();
      while (this.offset < this.file.size) {
        if (this.stopped) return;
        this.showProgress();
        const end = Math.min(this.offset + chunk, this.file.size);
        let retry = false;
        try {
          const answer = await api('PATCH', this.url, {
            body: this.file.slice(this.offset, end),
            headers: { 'Upload-Offset': String(this.offset), 'Content-Type': 'application/offset+octet-stream' },
          });
          if (answer.ok) {
            this.offset = answer.data.offset;
            failures = 0;
            conflicts = 0;
            continue;
          }
          if (answer.status === 409 && typeof answer.data?.offset === 'number' && conflicts < RETRIES) {
            // Another offset than ours: carry on from the server's.
            this.offset = answer.data.offset;
            conflicts += 1;
            continue;
          }
          if (answer.status === 404) {
            forget(this.file);
            this.fail(answer.data?.error ?? 'The upload is gone from the server: start again.');
            return;
          }
          retry = answer.status >= 500 || (answer.status === 400 && /interrupted/.test(answer.data?.error ?? ''));
          if (!retry) {
            this.fail(`“${this.file.name}” stopped: ${answer.data?.error ?? `the server answered ${answer.status}`}`);
            return;
          }
        } catch {
          retry = true;
        }
        failures += 1;
        if (failures > RETRIES) {
          say(status, `The upload of “${this.file.name}” is paused at ${size(this.offset)} of ${size(this.file.size)}: the connection keeps failing. Press Resume to go on from there.`);
          resumeButton.hidden = false;
          return;
        }
        const wait = Math.min(500 * 2 ** (failures - 1), 8000);
        say(status, `The connection dropped at ${size(this.offset)}; asking the server where to resume (attempt ${failures} of ${RETRIES})…`);
        await sleep(wait);
        if (!(await this.resync())) return;
      }
      await this.complete();
    }

    /** Every byte is there: the server checks it is media and queues the transcode. */
    async complete() {
      this.showProgress();
      say(status, `Checking “${this.file.name}” and queueing its transcode…`);
      let answer;
      try {
        answer = await api('POST', `${this.url}/complete`);
      } catch {
        say(status, 'The server could not be reached to finish the upload. Press Resume to try again.');
        resumeButton.hidden = false;
        return;
      }
      if (answer.ok) {
        forget(this.file);
        const title = this.title || this.file.name;
        say(status, `“${this.file.name}” is uploaded; its transcode is queued.`);
        trackJob(answer.data, title);
        form.reset();
        progress.hidden = true;
        this.done();
        refreshList();
        return;
      }
      if (answer.status === 409 && typeof answer.data?.offset === 'number') {
        this.offset = answer.data.offset;
        await this.send();
        return;
      }
      if (answer.status === 415 || answer.status === 404) forget(this.file);
      progress.hidden = true;
      this.fail(`“${this.file.name}” was refused: ${answer.data?.error ?? `the server answered ${answer.status}`}`);
    }

    async cancel() {
      this.stopped = true;
      forget(this.file);
      if (this.id !== null) {
        try { await api('DELETE', this.url); } catch { /* purged as stale later */ }
      }
      progress.hidden = true;
      say(status, `The upload of “${this.file.name}” was cancelled; nothing of it is kept.`);
      this.done();
    }
  }

  if (form) {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (current) return;
      const file = fileInput.files?.[0];
      if (!file) {
        say(alertLine, 'Pick a file to upload first.');
        return;
      }
      current = new Upload(file, byId('upload-title').value.trim(), byId('upload-ladder').value);
      current.start();
    });
    resumeButton.addEventListener('click', async () => {
      if (!current) return;
      resumeButton.hidden = true;
      say(status, 'Asking the server where to resume…');
      if (await current.resync()) await current.send();
    });
    cancelButton.addEventListener('click', () => { current?.cancel(); });
    fileInput.addEventListener('change', () => {
      say(alertLine, '');
      const file = fileInput.files?.[0];
      if (file && remembered(file)?.id) {
        say(status, `An earlier upload of “${file.name}” did not finish: Upload resumes it where it stopped.`);
      } else {
        say(status, '');
      }
    });
    const zone = byId('drop-zone');
    zone.addEventListener('dragover', (event) => { event.preventDefault(); zone.classList.add('over'); });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (event) => {
      event.preventDefault();
      zone.classList.remove('over');
      if (event.dataTransfer?.files?.length) {
        fileInput.files = event.dataTransfer.files;
        fileInput.dispatchEvent(new Event('change'));
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Imports from a URL

  const importForm = byId('import-form');
  if (importForm) {
    importForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const importStatus = byId('import-status');
      const importError = byId('import-error');
      say(importError, '');
      const request = { url: byId('import-url').value.trim() };
      const title = byId('import-title').value.trim();
      const ladder = byId('import-ladder').value;
      if (title) request.title = title;
      if (ladder) request.ladder = ladder;
      say(importStatus, 'Queueing the import…');
      let answer;
      try {
        answer = await api('POST', '/api/assets', { json: request });
      } catch {
        say(importStatus, '');
        say(importError, 'The server could not be reached: nothing was imported.');
        return;
      }
      if (!answer.ok) {
        say(importStatus, '');
        say(importError, `The import was refused: ${answer.data?.error ?? `the server answered ${answer.status}`}`);
        return;
      }
      say(importStatus, `The import of ${request.url} is queued.`);
      trackJob(answer.data, title || request.url);
      importForm.reset();
      refreshList();
    });
  }

  pollJobs();
})();
