// Room administration and moderation: room settings (rename, describe, delete),
// pins, reports, member roles and mutes, and blocking people.

import { h } from './dom.js';
import { errorText } from './api.js';
import { openPanel, closePanel } from './panels.js';
import { openDialog, confirmDialog } from './dialogs.js';
import { fullTime } from './format.js';

const isAdmin = (room) => room?.my_role === 'admin' || room?.my_role === 'owner';

function labelled(label, el) {
  const id = 'm-' + Math.random().toString(36).slice(2, 8);
  el.id = id;
  return [h('label', { for: id, text: label }), el];
}

/** roomSettings edits the room's name and description; the owner may delete it. */
export function roomSettings(app, roomId) {
  const r = app.store.rooms.get(roomId);
  const name = h('input', { maxlength: '100' });
  name.value = r.name || '';
  const desc = h('textarea', { maxlength: '500', rows: '3' });
  desc.value = r.description || '';
  const buttons = [{ label: 'Cancel' }, { label: 'Save', primary: true, run: async () => {
    app.store.putRoom(await app.api.put(`/rooms/${roomId}`, { name: name.value.trim(), description: desc.value.trim() }));
    app.renderHeader();
  } }];
  if (r.my_role === 'owner') {
    buttons.unshift({ label: 'Delete room', danger: true, run: () => {
      confirmDialog(`Delete ${r.name}?`, 'Every message in it is deleted for everyone.', 'Delete room', async () => {
        await app.api.del(`/rooms/${roomId}`);
        app.roomGone(roomId);
      });
      return false;
    } });
  }
  openDialog('Room settings', [...labelled('Name', name), ...labelled('Description', desc)], buttons);
}

/** pin pins a message (admins). */
export async function pin(app, m) {
  try {
    await app.api.post(`/rooms/${m.room_id}/pins/${m.id}`);
    app.toast('Message pinned.');
  } catch (e) { app.toast(errorText(e)); }
}

/** report files a report on a message with a reason. */
export function report(app, m) {
  const reason = h('textarea', { maxlength: '1000', rows: '3' });
  openDialog('Report message', [h('p', { class: 'muted', text: `“${m.content.slice(0, 140)}”` }), ...labelled('Why should the admins look at it?', reason)], [
    { label: 'Cancel' },
    { label: 'Report', primary: true, run: async () => {
      await app.api.post(`/messages/${m.id}/report`, { reason: reason.value.trim() });
      app.toast('Reported to the room’s admins.');
    } },
  ]);
}

/** openPins lists the room's pinned messages; admins may unpin. */
export async function openPins(app, roomId) {
  const room = app.store.rooms.get(roomId);
  const list = h('ul', { class: 'member-list', 'aria-label': 'Pinned messages' });
  openPanel('pins', roomId, 'Pinned messages', [list]);
  const load = async () => {
    try {
      const res = await app.api.get(`/rooms/${roomId}/pins`);
      list.replaceChildren(...(res.items.length ? res.items.map((p) => h('li', {},
        h('button', { type: 'button', class: 'hit-button', on: { click: () => app.jumpToMessage(roomId, p.message.id) } },
          h('strong', { class: 'small', text: p.message.sender?.display_name || '' }),
          h('span', { class: 'block', text: p.message.content }),
          h('span', { class: 'muted small block', text: `Pinned by ${p.pinned_by?.display_name} · ${fullTime(p.pinned_at)}` })),
        isAdmin(room) ? h('button', { type: 'button', class: 'small', text: 'Unpin', on: { click: async () => {
          await app.api.del(`/rooms/${roomId}/pins/${p.message.id}`).catch((e) => app.toast(errorText(e)));
          load();
        } } }) : null)) : [h('li', { class: 'muted empty', text: 'Nothing pinned yet.' })]));
    } catch (e) { list.replaceChildren(h('li', { class: 'error', text: errorText(e) })); }
  };
  await load();
}

/** openReports lists the room's open reports for its admins: resolve (and delete) or dismiss. */
export async function openReports(app, roomId) {
  const list = h('ul', { class: 'member-list', 'aria-label': 'Open reports' });
  openPanel('reports', roomId, 'Reports', [list]);
  const act = (r, body) => async () => {
    try { await app.api.patch(`/reports/${r.id}`, body); } catch (e) { app.toast(errorText(e)); }
    load();
  };
  const load = async () => {
    try {
      const res = await app.api.get(`/rooms/${roomId}/reports?status=open`);
      list.replaceChildren(...(res.items.length ? res.items.map((r) => h('li', {},
        h('span', { class: 'pick-name' },
          h('span', { class: 'small' }, h('strong', { text: r.reporter?.display_name || '' }), ' reported: ', r.reason),
          h('span', { class: 'block', text: r.message ? `“${r.message.content}” by ${r.message.sender?.display_name}` : '(message deleted)' })),
        r.message ? h('button', { type: 'button', class: 'small danger', text: 'Delete message', on: { click: act(r, { status: 'resolved', delete_message: true }) } }) : null,
        h('button', { type: 'button', class: 'small', text: 'Resolve', on: { click: act(r, { status: 'resolved' }) } }),
        h('button', { type: 'button', class: 'small', text: 'Dismiss', on: { click: act(r, { status: 'dismissed' }) } }))) : [h('li', { class: 'muted empty', text: 'No open reports.' })]));
    } catch (e) { list.replaceChildren(h('li', { class: 'error', text: errorText(e) })); }
  };
  await load();
}

/** memberActions are the moderation buttons for member mb in the members panel. */
export function memberActions(app, roomId, mb, reload) {
  const room = app.store.rooms.get(roomId);
  const me = app.store.me.id;
  const out = [];
  if (!isAdmin(room) || room.type === 'direct' || mb.user.id === me || mb.role === 'owner') return out;
  const name = mb.user.display_name;
  const call = (fn) => async () => { try { await fn(); } catch (e) { app.toast(errorText(e)); } reload(); };
  if (room.my_role === 'owner' || mb.role === 'member') {
    out.push(mb.muted
      ? h('button', { type: 'button', class: 'small', text: 'Unmute', 'aria-label': `Unmute ${name}`, on: { click: call(() => app.api.del(`/rooms/${roomId}/mutes/${mb.user.id}`)) } })
      : h('button', { type: 'button', class: 'small', text: 'Mute 1 h', 'aria-label': `Mute ${name} for an hour`, on: { click: call(() => app.api.post(`/rooms/${roomId}/mutes/${mb.user.id}`, { duration_seconds: 3600 })) } }));
  }
  if (room.my_role === 'owner') {
    const role = mb.role === 'admin' ? 'member' : 'admin';
    out.push(h('button', { type: 'button', class: 'small', text: role === 'admin' ? 'Make admin' : 'Make member', 'aria-label': `${role === 'admin' ? 'Make admin' : 'Make member'}: ${name}`,
      on: { click: call(() => app.api.patch(`/rooms/${roomId}/members/${mb.user.id}/role`, { role })) } }));
    out.push(h('button', { type: 'button', class: 'small', text: 'Make owner', 'aria-label': `Transfer ownership to ${name}`, on: { click: () => confirmDialog(`Make ${name} the owner?`, 'You become an admin.', 'Transfer', async () => {
      await app.api.patch(`/rooms/${roomId}/members/${mb.user.id}/role`, { role: 'owner' });
      app.store.putRoom({ ...room, my_role: 'admin' });
      closePanel();
    }) } }));
  }
  return out;
}

/** blockButton toggles a block on user from their profile. */
export async function blockButton(app, user) {
  let blocked = false;
  try {
    await app.api.all('/users/me/blocks', (items) => { if (items.some((u) => u.id === user.id)) blocked = true; });
  } catch { /* shown as not blocked */ }
  const btn = h('button', { type: 'button', class: 'danger' });
  const render = () => { btn.textContent = blocked ? `Unblock ${user.display_name}` : `Block ${user.display_name}`; };
  btn.addEventListener('click', async () => {
    try {
      if (blocked) await app.api.del(`/users/${user.id}/block`); else await app.api.post(`/users/${user.id}/block`);
      blocked = !blocked;
      render();
    } catch (e) { app.toast(errorText(e)); }
  });
  render();
  return btn;
}
