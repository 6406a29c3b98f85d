// The search panel: GET /search with the filters of the seed (room, sender, from,
// to, has). Hits show the server's highlight (only <mark> is kept) with the
// messages before and after as context; choosing one opens it in its room.

import { h, setHighlight } from './dom.js';
import { errorText } from './api.js';
import { openPanel } from './panels.js';
import { fullTime } from './format.js';

function field(label, input) {
  const id = 's-' + Math.random().toString(36).slice(2, 8);
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input);
}

/** openSearch shows the search panel, optionally with a query. */
export function openSearch(app, q = '') {
  const query = h('input', { type: 'search', class: 'search-input', placeholder: 'Search messages', autocomplete: 'off' });
  query.value = q;
  const room = h('select', {}, h('option', { value: '', text: 'All rooms' }),
    ...app.store.sortedRooms().slice(0, 300).map((r) => h('option', { value: r.id, text: app.store.roomName(r) })));
  if (app.store.openRoomId) room.value = '';
  const sender = h('input', { type: 'text', placeholder: 'username', autocomplete: 'off' });
  const from = h('input', { type: 'date' });
  const to = h('input', { type: 'date' });
  const has = h('select', {}, h('option', { value: '', text: 'Anything' }), h('option', { value: 'attachments', text: 'Attachments' }), h('option', { value: 'links', text: 'Links' }));
  const status = h('p', { class: 'muted small', role: 'status' });
  const results = h('ol', { class: 'search-results', 'aria-label': 'Search results' });
  const form = h('form', { class: 'search-form', role: 'search' },
    field('Search', query),
    h('details', { class: 'filters' }, h('summary', { text: 'Filters' }),
      field('Room', room), field('From user', sender), field('From date', from), field('Before date', to), field('Has', has)),
    h('button', { type: 'submit', class: 'primary', text: 'Search' }));
  const run = async () => {
    const p = new URLSearchParams();
    p.set('q', query.value.trim());
    if (room.value) p.set('room_id', room.value);
    if (from.value) p.set('from', new Date(from.value + 'T00:00:00').toISOString());
    if (to.value) p.set('to', new Date(to.value + 'T00:00:00').toISOString());
    if (has.value) p.set('has', has.value);
    p.set('limit', '50');
    status.textContent = 'Searching…';
    results.replaceChildren();
    try {
      if (sender.value.trim()) {
        const name = sender.value.trim().replace(/^@/, '');
        const users = await app.api.get(`/users/search?limit=5&q=${encodeURIComponent(name)}`);
        const u = users.items.find((x) => x.username.toLowerCase() === name.toLowerCase()) || users.items[0];
        if (!u) { status.textContent = `Nobody is called ${name}.`; return; }
        p.set('sender_id', u.id);
      }
      const res = await app.api.get(`/search?${p}`);
      status.textContent = `${res.items.length} ${res.items.length === 1 ? 'result' : 'results'}`;
      results.replaceChildren(...res.items.map((hit) => renderHit(app, hit)));
    } catch (e) {
      status.textContent = `Search failed: ${errorText(e)}`;
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); run(); });
  openPanel('search', '', 'Search', [form, status, results]);
  query.focus();
  if (q) run();
}

function renderHit(app, hit) {
  const m = hit.message;
  const r = app.store.rooms.get(m.room_id);
  const text = h('p', { class: 'hit-text' });
  setHighlight(text, hit.highlight || '');
  if (!text.textContent) text.textContent = m.content;
  const ctx = (x) => x ? h('p', { class: 'hit-context muted small' }, h('strong', { text: (x.sender?.display_name || '') + ': ' }), x.deleted ? '[deleted]' : x.content) : null;
  return h('li', { class: 'hit' },
    h('button', { type: 'button', class: 'hit-button', 'aria-label': `Open message from ${m.sender?.display_name} in ${app.store.roomName(r)}`, on: { click: () => app.jumpToMessage(m.room_id, m.id) } },
      h('span', { class: 'hit-meta muted small' }, h('span', { text: app.store.roomName(r) || 'room' }), ' · ',
        h('span', { text: m.sender?.display_name || '' }), ' · ', h('time', { datetime: m.created_at, text: fullTime(m.created_at) })),
      ctx(hit.before), text, ctx(hit.after)));
}
