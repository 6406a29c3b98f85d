// Modal dialogs on the page's one <dialog>: create a room, discover public rooms,
// start a DM, invite links, accept an invite, edit one's profile, confirm.

import { h } from './dom.js';
import { errorText } from './api.js';
import { presenceDot } from './message-view.js';

const dlg = () => document.getElementById('dialog');

/**
 * openDialog shows a modal with title, body nodes and buttons [{label, primary,
 * danger, run}]: run may be async; the dialog closes when it resolves to anything
 * but false, and shows its error otherwise.
 */
export function openDialog(title, body, buttons) {
  const d = dlg();
  document.getElementById('dialog-title').textContent = title;
  document.getElementById('dialog-body').replaceChildren(...body);
  const err = document.getElementById('dialog-error');
  err.textContent = '';
  const actions = document.getElementById('dialog-actions');
  actions.replaceChildren(...buttons.map((b) => h('button', {
    type: b.primary ? 'submit' : 'button', class: b.primary ? 'primary' : b.danger ? 'danger' : '', text: b.label,
    on: { click: async (e) => {
      e.preventDefault();
      if (!b.run) { d.close(); return; }
      try {
        const r = await b.run();
        if (r !== false) d.close();
      } catch (ex) { err.textContent = errorText(ex); }
    } },
  })));
  if (!d.open) d.showModal();
  const first = d.querySelector('#dialog-body input, #dialog-body select, #dialog-body textarea');
  (first || actions.querySelector('button.primary') || actions.querySelector('button'))?.focus();
  return d;
}

export function closeDialog() { if (dlg().open) dlg().close(); }

/** field builds a labelled input. */
function field(label, attrs) {
  const id = 'f-' + Math.random().toString(36).slice(2, 8);
  const input = h(attrs.tag || 'input', { id, ...attrs, tag: null });
  return [h('label', { for: id, text: label }), input];
}

export function confirmDialog(title, text, label, run) {
  openDialog(title, [h('p', { text })], [{ label: 'Cancel' }, { label, primary: true, run }]);
}

export function createRoomDialog(app) {
  const [nl, name] = field('Name', { maxlength: '100', required: true });
  const [dl, desc] = field('Description (optional)', { maxlength: '500' });
  const [tl, type] = field('Who can join', { tag: 'select' });
  type.append(h('option', { value: 'public', text: 'Anyone (public)' }), h('option', { value: 'private', text: 'Invited people only (private)' }));
  openDialog('New room', [nl, name, dl, desc, tl, type], [
    { label: 'Cancel' },
    { label: 'Create', primary: true, run: async () => {
      const room = await app.api.post('/rooms', { name: name.value.trim(), description: desc.value.trim(), type: type.value });
      app.addRoom(room);
      app.open(room.id);
    } },
  ]);
}

export function discoverDialog(app) {
  const [ql, q] = field('Search public rooms', { type: 'search' });
  const list = h('ul', { class: 'pick-list', 'aria-label': 'Public rooms' });
  const load = async () => {
    try {
      const page = await app.api.get(`/rooms/public?limit=50&q=${encodeURIComponent(q.value.trim())}`);
      list.replaceChildren(...(page.items.length ? page.items.map((r) => h('li', {},
        h('span', { class: 'pick-name' }, h('strong', { text: r.name }), ' ', h('span', { class: 'muted', text: `${r.member_count} members` }),
          r.description ? h('span', { class: 'muted block', text: r.description }) : null),
        app.store.rooms.has(r.id)
          ? h('button', { type: 'button', class: 'small', text: 'Open', on: { click: () => { closeDialog(); app.open(r.id); } } })
          : h('button', { type: 'button', class: 'small primary', text: 'Join', 'aria-label': `Join ${r.name}`, on: { click: async () => {
            const room = await app.api.post(`/rooms/${r.id}/join`);
            app.addRoom(room);
            closeDialog();
            app.open(room.id);
          } } }))) : [h('li', { class: 'muted', text: 'No public rooms match.' })]));
    } catch (e) { list.replaceChildren(h('li', { class: 'error', text: errorText(e) })); }
  };
  let t;
  q.addEventListener('input', () => { clearTimeout(t); t = setTimeout(load, 200); });
  openDialog('Discover rooms', [ql, q, list], [{ label: 'Close' }]);
  load();
}

/** userPicker is a search box listing users; onPick(user). */
export function userPicker(app, label, onPick) {
  const [ql, q] = field(label, { type: 'search', autocomplete: 'off' });
  const list = h('ul', { class: 'pick-list', 'aria-label': 'People' });
  let t;
  q.addEventListener('input', () => {
    clearTimeout(t);
    t = setTimeout(async () => {
      const v = q.value.trim();
      if (!v) { list.replaceChildren(); return; }
      try {
        const page = await app.api.get(`/users/search?limit=20&q=${encodeURIComponent(v)}`);
        list.replaceChildren(...page.items.filter((u) => u.id !== app.store.me.id).map((u) => {
          app.store.putUser(u);
          return h('li', {}, presenceDot(u.status),
            h('span', { class: 'pick-name' }, h('strong', { text: u.display_name }), ' ', h('span', { class: 'muted', text: '@' + u.username })),
            h('button', { type: 'button', class: 'small primary', text: 'Choose', 'aria-label': `Choose ${u.display_name}`, on: { click: () => onPick(u) } }));
        }));
      } catch (e) { list.replaceChildren(h('li', { class: 'error', text: errorText(e) })); }
    }, 150);
  });
  return [ql, q, list];
}

export function newDMDialog(app) {
  openDialog('New direct message', userPicker(app, 'Find someone by name', async (u) => {
    closeDialog();
    await app.openDM(u.id);
  }), [{ label: 'Cancel' }]);
}

export function addMemberDialog(app, roomId, done) {
  openDialog('Add a member', userPicker(app, 'Find someone by name', async (u) => {
    try {
      await app.api.post(`/rooms/${roomId}/members`, { user_id: u.id });
      closeDialog();
      done?.();
    } catch (e) { document.getElementById('dialog-error').textContent = errorText(e); }
  }), [{ label: 'Cancel' }]);
}

export async function inviteDialog(app, roomId) {
  const inv = await app.api.post(`/rooms/${roomId}/invites`, {});
  const url = `${location.origin}/join/${inv.code}`;
  const [ll, link] = field('Invite link (valid until ' + new Date(inv.expires_at).toLocaleDateString() + ')', { readonly: true, class: 'invite-link' });
  link.value = url;
  openDialog('Invite people', [h('p', { text: 'Anyone signed in with this link can join the room.' }), ll, link], [
    { label: 'Revoke link', danger: true, run: async () => { await app.api.del(`/invites/${inv.code}`); app.toast('Invite link revoked.'); } },
    { label: 'Copy link', run: async () => { link.select(); await navigator.clipboard?.writeText(url).catch(() => {}); return false; } },
    { label: 'Done', primary: true },
  ]);
}

export async function acceptInviteDialog(app, code) {
  let info;
  try { info = await app.api.get(`/invites/${encodeURIComponent(code)}`); } catch (e) {
    openDialog('Invite', [h('p', { text: `This invite cannot be used: ${errorText(e)}` })], [{ label: 'OK', primary: true }]);
    return;
  }
  if (!info.valid) { openDialog('Invite', [h('p', { text: 'This invite has expired or was revoked.' })], [{ label: 'OK', primary: true }]); return; }
  openDialog(`Join ${info.room.name || 'room'}?`, [
    h('p', { text: info.room.description || '' }), h('p', { class: 'muted', text: `${info.room.member_count} members` }),
  ], [{ label: 'Not now' }, { label: 'Join room', primary: true, run: async () => {
    const room = await app.api.post(`/invites/${encodeURIComponent(code)}/accept`);
    app.addRoom(room);
    app.open(room.id);
  } }]);
}

export function profileDialog(app) {
  const me = app.store.me;
  const [nl, name] = field('Display name', { maxlength: '50' });
  name.value = me.display_name || '';
  const [sl, status] = field('Status', { tag: 'select' });
  for (const s of ['online', 'away', 'busy']) status.append(h('option', { value: s, text: s[0].toUpperCase() + s.slice(1) }));
  status.value = me.status === 'offline' ? 'online' : me.status || 'online';
  const [ml, msg] = field('Status message', { maxlength: '100' });
  msg.value = me.status_message || '';
  openDialog('Your profile', [h('p', { class: 'muted', text: '@' + me.username }), nl, name, sl, status, ml, msg], [
    { label: 'Sign out', danger: true, run: () => app.signOut() },
    { label: 'Cancel' },
    { label: 'Save', primary: true, run: async () => {
      const u = await app.api.patch('/users/me', { display_name: name.value.trim(), status: status.value, status_message: msg.value.trim() });
      app.store.setMe(u);
      app.renderMe();
    } },
  ]);
}
