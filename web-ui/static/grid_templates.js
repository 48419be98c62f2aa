// The templates and blocks editor (/grid/{slug}/templates).
//
// The page lists blocks and templates without JavaScript; for a scheduler this script swaps the
// lists for editors. Blocks and templates are each saved whole, as PUT /api/channels/{slug}/grid/
// blocks or …/templates with the version the page loaded (If-Match). The control plane names
// every problem by its path (blocks["News"].entries[1], templates[0].slots[2].rule): each is
// shown next to the field with that path, and nothing is saved. A stale version says who
// changed the channel meanwhile, with a reload. Entries reorder by dragging (SortableJS) or with
// the up and down buttons. An item (in a block or a slot) has its programme details (title,
// episode, description, genres, rating, artwork) in a disclosure: what the EPG lists for it, and
// what a template applied to a week gives the items it makes. Everything typed is shown as
// text, never as HTML.
(() => {
  'use strict';
  const root = document.getElementById('tpl-editor');
  if (!root) return;
  const data = JSON.parse(root.dataset.grid);
  if (!data.can_edit) return;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
  const statusBox = document.getElementById('tpl-status');
  const slug = encodeURIComponent(data.slug);
  let version = data.version;
  let blocks = structuredClone(data.blocks);
  let templates = structuredClone(data.templates);

  // --- Small DOM helpers (text only: typed names never become markup) -----------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? '' : String(value));
    }
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }
  let unique = 0;
  function labelled(text, input) {
    input.id = input.id || `tpl-field-${++unique}`;
    return [el('label', { for: input.id, text }), input];
  }
  function button(text, onclick, attrs = {}) {
    return el('button', { type: 'button', onclick, ...attrs, text });
  }
  function say(kind, lines, extra) {
    statusBox.replaceChildren();
    statusBox.dataset.kind = kind;
    for (const line of lines) statusBox.append(el('p', { text: line }));
    if (extra) statusBox.append(extra);
  }
  const blockPath = (name) => `blocks[${JSON.stringify(name)}]`;

  // --- Assets: search the library ------------------------------------------------------------

  async function searchAssets(text) {
    const params = new URLSearchParams({ state: 'ready', limit: '50' });
    if (text.trim()) params.set('title', text.trim());
    const response = await fetch(`/api/assets?${params}`);
    const body = await response.json().catch(() => ({ assets: [] }));
    return (body.assets ?? []).filter((asset) => asset.ladder_id === data.ladder_id);
  }

  /** A search box and a select of the assets it finds; `pick()` gives the chosen one. */
  function assetPicker(prefix) {
    const search = el('input', { type: 'search', autocomplete: 'off', 'data-testid': `${prefix}-search` });
    const select = el('select', { 'data-testid': `${prefix}-asset` });
    let found = [];
    let asked = 0;
    async function refresh() {
      const ask = ++asked;
      const assets = await searchAssets(search.value);
      if (ask !== asked) return;
      found = assets;
      select.replaceChildren(...assets.map((asset) => el('option', { value: asset.id, text: `${asset.title} (${Math.round(asset.duration_ms / 1000)} s)` })));
      if (assets.length === 0) select.append(el('option', { value: '', text: 'No ready asset matches' }));
    }
    search.addEventListener('input', refresh);
    refresh();
    return {
      nodes: [...labelled('Search the library', search), ...labelled('Asset', select)],
      pick: () => found.find((asset) => String(asset.id) === select.value),
    };
  }

  // --- Programme details of an item (what the EPG lists for it) -----------------------------

  /**
   * A disclosure that edits `info` in place: the item's title, and its optional episode,
   * description, genres, rating and artwork. Each field carries the path the control plane
   * names its problems by (`…info.season`), so a refusal stands next to it.
   */
  function programmeDetails(info, path) {
    const box = el('details', { class: 'programme-details', 'data-testid': 'programme-details' },
      el('summary', { text: `Programme details of ${info.title || 'the item'}` }));
    const keep = (name, value) => {
      if (value === '' || value === undefined || value === null) delete info[name];
      else info[name] = value;
    };
    const field = (label, name, input, read) => {
      input.dataset.path = `${path}.info.${name}`;
      input.dataset.testid = `info-${name}`;
      input.addEventListener('input', () => read(input.value));
      box.append(el('p', {}, ...labelled(label, input)));
    };
    const text = (value, attrs = {}) => {
      const input = el('input', { autocomplete: 'off', ...attrs });
      input.value = value ?? '';
      return input;
    };
    field('Title', 'title', text(info.title), (value) => { info.title = value.trim(); });
    field('Episode title', 'episode_title', text(info.episode_title), (value) => keep('episode_title', value.trim()));
    for (const [label, name] of [['Season', 'season'], ['Episode', 'episode']]) {
      field(label, name, text(info[name], { type: 'number', min: 1, step: 1 }),
        (value) => keep(name, value.trim() === '' ? '' : Number(value)));
    }
    const description = el('textarea', { rows: 2 });
    description.value = info.description ?? '';
    field('Description', 'description', description, (value) => keep('description', value.trim()));
    field('Genres (separated by commas)', 'genres', text((info.genres ?? []).join(', ')), (value) => {
      const genres = value.split(',').map((genre) => genre.trim()).filter(Boolean);
      keep('genres', genres.length ? genres : '');
    });
    const rating = info.rating ? `${info.rating.system ? `${info.rating.system}: ` : ''}${info.rating.value}` : '';
    field('Rating (a value, or system: value, e.g. VCHIP: TV-PG)', 'rating', text(rating), (value) => {
      const [first, ...rest] = value.split(':');
      const parsed = rest.length ? { system: first.trim(), value: rest.join(':').trim() } : { value: first.trim() };
      if (parsed.system === '') delete parsed.system;
      keep('rating', parsed.value ? parsed : '');
    });
    field('Artwork URL', 'artwork_url', text(info.artwork_url, { type: 'url' }), (value) => keep('artwork_url', value.trim()));
    return box;
  }

  // --- Blocks ------------------------------------------------------------------------------

  const blocksEdit = document.getElementById('blocks-edit');
  function entryText(entry) {
    switch (entry.type) {
      case 'item': return `Item: ${entry.info?.title ?? ''} (asset ${entry.asset_id})`;
      case 'break': return `Ad break: ${entry.duration_ms / 1000} s`;
      case 'block': return `Block: ${entry.name}`;
      case 'fill': return `Fill: ${entry.rule}`;
      default: return entry.type;
    }
  }

  function renderBlocks() {
    blocksEdit.replaceChildren();
    for (const name of Object.keys(blocks)) {
      const block = blocks[name];
      const card = el('div', { class: 'tpl-card', 'data-path': blockPath(name), 'data-testid': `block-${name}` });
      const nameInput = el('input', { value: name, 'data-testid': 'block-name' });
      nameInput.addEventListener('change', () => {
        const next = nameInput.value.trim();
        if (!next || next === name || blocks[next]) { nameInput.value = name; return; }
        const renamed = {};
        for (const key of Object.keys(blocks)) renamed[key === name ? next : key] = blocks[key];
        for (const other of Object.values(renamed)) {
          for (const entry of other.entries) if (entry.type === 'block' && entry.name === name) entry.name = next;
        }
        for (const template of templates) for (const slot of template.slots) if (slot.block === name) slot.block = next;
        blocks = renamed;
        renderBlocks();
        renderTemplates();
      });
      card.append(el('p', {}, ...labelled('Block name', nameInput), ' ',
        button('Delete the block', () => { delete blocks[name]; renderBlocks(); renderTemplates(); }, { 'aria-label': `Delete block ${name}` })));
      const list = el('ol', { class: 'tpl-entries', 'aria-label': `Entries of ${name}` });
      block.entries.forEach((entry, index) => {
        const move = (by) => {
          const target = index + by;
          if (target < 0 || target >= block.entries.length) return;
          const [taken] = block.entries.splice(index, 1);
          block.entries.splice(target, 0, taken);
          renderBlocks();
          blocksEdit.querySelector(`[data-path="${CSS.escape(`${blockPath(name)}.entries[${target}]`)}"] .${by < 0 ? 'up' : 'down'}`)?.focus();
        };
        const item = el('li', { 'data-path': `${blockPath(name)}.entries[${index}]`, 'data-index': index },
          el('span', { class: 'drag', 'aria-hidden': 'true', text: '⠿' }),
          el('span', { class: 'entry-text', text: entryText(entry) }),
          button('↑', () => move(-1), { class: 'up', 'aria-label': `Move ${entryText(entry)} up` }),
          button('↓', () => move(1), { class: 'down', 'aria-label': `Move ${entryText(entry)} down` }),
          button('Remove', () => { block.entries.splice(index, 1); renderBlocks(); }, { 'aria-label': `Remove ${entryText(entry)}` }),
          entry.type === 'item' ? programmeDetails(entry.info, `${blockPath(name)}.entries[${index}]`) : null);
        list.append(item);
      });
      if (window.Sortable) {
        window.Sortable.create(list, {
          handle: '.drag',
          onEnd: (event) => {
            const [taken] = block.entries.splice(event.oldIndex, 1);
            block.entries.splice(event.newIndex, 0, taken);
            renderBlocks();
          },
        });
      }
      card.append(list, addEntryForm(name));
      blocksEdit.append(card);
    }
    const newName = el('input', { 'data-testid': 'new-block-name' });
    blocksEdit.append(el('p', {}, ...labelled('New block', newName), ' ', button('Create the block', () => {
      const name = newName.value.trim();
      if (!name) { say('error', ['Give the new block a name.']); return; }
      if (blocks[name]) { say('error', [`There is a block ${name} already.`]); return; }
      blocks[name] = { entries: [] };
      renderBlocks();
      renderTemplates();
    })), el('p', {}, button('Save blocks', () => save('blocks'), { class: 'primary', 'data-testid': 'save-blocks' })));
  }

  function addEntryForm(name) {
    const form = el('fieldset', { class: 'add-entry' }, el('legend', { text: `Add to ${name}` }));
    const type = el('select', { 'data-testid': 'entry-type' },
      el('option', { value: 'item', text: 'an asset' }), el('option', { value: 'break', text: 'an ad break' }),
      el('option', { value: 'block', text: 'a nested block' }), el('option', { value: 'fill', text: 'a fill rule' }));
    const fields = el('span');
    let current = null;
    function showFields() {
      fields.replaceChildren();
      if (type.value === 'item') {
        current = assetPicker('entry');
        fields.append(...current.nodes);
      } else if (type.value === 'break') {
        const seconds = el('input', { type: 'number', min: 1, step: 1, value: 30, 'data-testid': 'entry-break-seconds' });
        current = { pick: () => seconds.value };
        fields.append(...labelled('Seconds', seconds));
      } else if (type.value === 'block') {
        const select = el('select', {}, ...Object.keys(blocks).filter((other) => other !== name).map((other) => el('option', { value: other, text: other })));
        current = { pick: () => select.value };
        fields.append(...labelled('Block', select));
      } else {
        const rule = el('input', { list: 'tpl-fill-rules' });
        current = { pick: () => rule.value.trim() };
        fields.append(...labelled('Fill rule', rule));
      }
    }
    type.addEventListener('change', showFields);
    showFields();
    form.append(...labelled('Add', type), ' ', fields, ' ', button('Add the entry', () => {
      const value = current.pick();
      let entry;
      if (type.value === 'item') {
        if (!value) { say('error', ['Choose an asset to add.']); return; }
        entry = { type: 'item', asset_id: value.id, info: { title: value.title } };
      } else if (type.value === 'break') {
        entry = { type: 'break', duration_ms: Math.round(Number(value) * 1000) };
      } else if (type.value === 'block') {
        if (!value) { say('error', ['There is no other block to nest.']); return; }
        entry = { type: 'block', name: value };
      } else {
        entry = { type: 'fill', rule: value };
      }
      blocks[name].entries.push(entry);
      renderBlocks();
    }, { 'data-testid': 'add-entry' }));
    return form;
  }

  // --- Templates ---------------------------------------------------------------------------

  const templatesEdit = document.getElementById('templates-edit');
  const RULE_HINT = 'daily 20:00 · weekdays 06:30 · Sat,Sun 09:00 · cron 0 0 */2 * * * (seconds first), local to the zone';

  function contentOf(slot) {
    if (slot.block !== undefined && slot.block !== null) return 'block';
    if (slot.fill !== undefined && slot.fill !== null) return 'fill';
    if (slot.item) return 'item';
    return 'block';
  }

  function previewFires(rule, zone, target) {
    clearTimeout(target.timer);
    target.timer = setTimeout(async () => {
      const params = new URLSearchParams({ rule, zone: zone ?? '' });
      const response = await fetch(`/grid/${slug}/templates/fires?${params}`);
      // The server escapes everything it sends back.
      target.innerHTML = await response.text();
    }, 250);
  }

  function renderTemplates() {
    templatesEdit.replaceChildren();
    templates.forEach((template, index) => {
      const path = `templates[${index}]`;
      const card = el('div', { class: 'tpl-card', 'data-path': path, 'data-testid': `template-${index}` });
      const name = el('input', { value: template.name, 'data-path': `${path}.name`, 'data-testid': 'template-name' });
      name.addEventListener('input', () => { template.name = name.value; });
      const zone = el('input', { value: template.zone ?? '', placeholder: data.zone, 'data-path': `${path}.zone` });
      zone.addEventListener('input', () => { template.zone = zone.value.trim() || undefined; });
      card.append(el('p', {}, ...labelled('Template name', name), ' ', ...labelled('Zone (the channel\'s when empty)', zone), ' ',
        button('Delete the template', () => { templates.splice(index, 1); renderTemplates(); })));
      const list = el('ol', { class: 'tpl-entries' });
      template.slots.forEach((slot, slotIndex) => {
        const slotPath = `${path}.slots[${slotIndex}]`;
        const rule = el('input', { value: slot.rule, 'data-path': `${slotPath}.rule`, 'aria-describedby': 'tpl-rule-hint', 'data-testid': 'slot-rule' });
        const fires = el('div', { class: 'fires-preview', 'aria-live': 'polite' });
        rule.addEventListener('input', () => { slot.rule = rule.value; previewFires(rule.value, template.zone, fires); });
        if (slot.rule) previewFires(slot.rule, template.zone, fires);
        const kind = el('select', { 'data-testid': 'slot-kind' }, ...['block', 'fill', 'item'].map((value) => el('option', { value, text: value, selected: contentOf(slot) === value })));
        const value = el('span');
        function showValue() {
          value.replaceChildren();
          delete slot.block; delete slot.fill;
          if (kind.value !== 'item') delete slot.item;
          if (kind.value === 'block') {
            const select = el('select', { 'data-path': `${slotPath}.block`, 'data-testid': 'slot-block' }, ...Object.keys(blocks).map((other) => el('option', { value: other, text: other })));
            const wanted = slot.wanted ?? Object.keys(blocks)[0];
            if (wanted) select.value = wanted;
            slot.block = select.value;
            select.addEventListener('change', () => { slot.block = select.value; });
            value.append(...labelled('Block', select));
          } else if (kind.value === 'fill') {
            const input = el('input', { list: 'tpl-fill-rules', value: slot.wanted ?? '', 'data-path': `${slotPath}.fill` });
            slot.fill = input.value;
            input.addEventListener('input', () => { slot.fill = input.value.trim(); });
            value.append(...labelled('Fill rule', input));
          } else {
            const picker = assetPicker('slot');
            const chosen = el('span', { text: slot.item ? `${slot.item.info.title} (asset ${slot.item.asset_id})` : 'none yet' });
            value.append(el('span', { 'data-path': `${slotPath}.item` }, chosen), ' ', ...picker.nodes, button('Use this asset', () => {
              const asset = picker.pick();
              if (!asset) return;
              slot.item = { asset_id: asset.id, info: { title: asset.title } };
              renderTemplates();
            }));
            if (slot.item) value.append(programmeDetails(slot.item.info, `${slotPath}.item`));
          }
        }
        slot.wanted = slot.block ?? slot.fill;
        kind.addEventListener('change', () => { slot.wanted = undefined; showValue(); });
        showValue();
        list.append(el('li', { 'data-path': slotPath }, ...labelled('Rule', rule), ' ', ...labelled('Places', kind), ' ', value, ' ',
          button('Remove', () => { template.slots.splice(slotIndex, 1); renderTemplates(); }, { 'aria-label': `Remove slot ${slotIndex + 1}` }), fires));
      });
      card.append(list, button('Add a slot', () => { template.slots.push({ rule: 'daily 20:00' }); renderTemplates(); }, { 'data-testid': 'add-slot' }));
      templatesEdit.append(card);
    });
    templatesEdit.append(el('p', { id: 'tpl-rule-hint', class: 'rule-hint', text: `Rules: ${RULE_HINT}` }),
      el('p', {}, button('New template', () => { templates.push({ name: `Template ${templates.length + 1}`, slots: [] }); renderTemplates(); }, { 'data-testid': 'new-template' }),
        ' ', button('Save templates', () => save('templates'), { class: 'primary', 'data-testid': 'save-templates' })));
  }

  // --- Saving ------------------------------------------------------------------------------

  function cleanTemplates() {
    return templates.map((template) => ({
      name: template.name,
      ...(template.zone ? { zone: template.zone } : {}),
      slots: template.slots.map((slot) => {
        const out = { rule: slot.rule };
        if (slot.block !== undefined) out.block = slot.block;
        else if (slot.fill !== undefined) out.fill = slot.fill;
        else if (slot.item) out.item = slot.item;
        return out;
      }),
    }));
  }

  function showProblems(problems) {
    document.querySelectorAll('.field-problem.saved').forEach((node) => node.remove());
    const unplaced = [];
    const fields = [...document.querySelectorAll('#blocks-edit [data-path], #templates-edit [data-path]')];
    for (const problem of problems) {
      const message = problem.message ?? String(problem);
      const split = message.indexOf(': ');
      const path = split > 0 ? message.slice(0, split) : '';
      // The field with that path, else the nearest one that holds it.
      const field = fields.filter((node) => path === node.dataset.path || path.startsWith(`${node.dataset.path}.`) || path.startsWith(`${node.dataset.path}[`))
        .sort((a, b) => b.dataset.path.length - a.dataset.path.length)[0];
      const note = el('p', { class: 'field-problem saved', role: 'alert', text: field ? message.slice(split + 2) : message });
      if (field) {
        field.insertAdjacentElement(field.tagName === 'INPUT' || field.tagName === 'SELECT' ? 'afterend' : 'beforeend', note);
        if (field.tagName === 'INPUT' || field.tagName === 'SELECT') field.setAttribute('aria-invalid', 'true');
      } else {
        unplaced.push(message);
      }
    }
    return unplaced;
  }

  function reloadButton() {
    return button('Reload', () => window.location.reload(), { 'data-testid': 'reload' });
  }

  async function save(part) {
    const body = part === 'blocks' ? { blocks } : { templates: cleanTemplates() };
    say('info', [`Saving the ${part}…`]);
    let response;
    try {
      response = await fetch(`/api/channels/${slug}/grid/${part}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'if-match': `"${version}"`, 'x-csrf-token': csrf },
        body: JSON.stringify(body),
      });
    } catch (error) {
      say('error', [`Not saved: the server could not be reached (${error.message}).`]);
      return;
    }
    const answer = await response.json().catch(() => ({}));
    document.querySelectorAll('.field-problem.saved').forEach((node) => node.remove());
    if (response.ok) {
      version = answer.version;
      document.querySelectorAll('[data-testid="version"]').forEach((node) => { node.textContent = String(version); });
      document.querySelectorAll('input[name="version"]').forEach((node) => { node.value = String(version); });
      const from = answer.effective_from ? `, in effect from ${new Date(answer.effective_from).toLocaleString()}` : '';
      say('ok', [`The ${part} were saved as version ${version}${from}.`]);
      return;
    }
    if (response.status === 422 && Array.isArray(answer.errors)) {
      const unplaced = showProblems(answer.errors);
      say('error', [`Nothing was saved: ${answer.errors.length === 1 ? 'one problem' : `${answer.errors.length} problems`}, shown next to the fields.`, ...unplaced]);
    } else if (response.status === 409 && !answer.lock_horizon) {
      let who = 'someone else';
      try {
        const [grid, schedule] = await Promise.all([
          fetch(`/api/channels/${slug}/grid/versions`).then((r) => r.json()),
          fetch(`/api/channels/${slug}/schedule/versions`).then((r) => r.json()),
        ]);
        const newest = [...(grid.versions ?? []), ...(schedule.versions ?? [])].sort((a, b) => b.version - a.version)[0];
        if (newest && newest.version > version) who = `${newest.author} (version ${newest.version})`;
      } catch {
        // The message below still says what happened.
      }
      say('error', [`Changed by ${who} meanwhile: nothing was saved. Reload to see the grid as it is now, then make your change again.`], reloadButton());
    } else {
      say('error', [`Nothing was saved (${response.status}): ${answer.error ?? response.statusText}`]);
    }
  }

  const fillList = el('datalist', { id: 'tpl-fill-rules' }, ...data.fill_rules.map((rule) => el('option', { value: rule })));
  document.body.append(fillList);
  document.getElementById('blocks-read').hidden = true;
  document.getElementById('templates-read').hidden = true;
  blocksEdit.hidden = false;
  templatesEdit.hidden = false;
  renderBlocks();
  renderTemplates();
})();
