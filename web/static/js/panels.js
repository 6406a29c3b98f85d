// The side panel (one at a time): a thread, a user's profile, a room's members.
// Search and notifications use it too (search.js, notifications.js).

import { h } from './dom.js';
import { errorText } from './api.js';
import { renderMessage, renderPending, presenceDot, avatar } from './message-view.js';
import { addMemberDialog } from './dialogs.js';
import { fullTime } from './format.js';
import { memberActions, blockButton } from './moderation.js';

let current = null; // {kind, key, close?}

/** openPanel shows title and body nodes in the side panel; kind/key identify it. */
export function openPanel(kind, key, title, nodes, onClose) {
  if (current?.close) current.close();
  current = { kind, key, close: onClose };
  const panel = document.getElementById('panel');
  document.getElementById('panel-title').textContent = title;
  document.getElementById('panel-body').replaceChildren(...nodes);
  panel.hidden = false;
  panel.dataset.kind = kind;
  document.getElementById('app').classList.add('with-panel');
  // Keyboard users land in the panel (callers may focus a field inside it first).
  requestAnimationFrame(() => { if (!panel.contains(document.activeElement)) document.getElementById('panel-close').focus(); });
  return panel;
}

export function closePanel() {
  const panel = document.getElementById('panel');
  if (panel.hidden) return false;
  if (current?.close) current.close();
  current = null;
  panel.hidden = true;
  document.getElementById('app').classList.remove('with-panel');
  return true;
}

export const panelIs = (kind, key) => current && current.kind === kind && (key === undefined || current.key === key);

/** openThread shows message m's replies with a reply box, live. */
export async function openThread(app, m) {
  const list = h('ol', { class: 'messages thread-list', 'aria-label': 'Replies' });
  const pending = h('ol', { class: 'messages pending-list', 'aria-label': 'Replies not yet sent' });
  const parentList = h('ol', { class: 'messages thread-parent', 'aria-label': 'Thread start' });
  const composer = document.createElement('message-composer');
  const replies = new Map();
  const render = () => {
    const root = app.store.timeline(m.room_id).byId.get(m.id) || m;
    parentList.replaceChildren(renderMessage(root, app.ctx, { inThread: true }));
    const items = [...replies.values()].sort((a, b) => a.seq - b.seq);
    list.replaceChildren(...(items.length ? items.map((r) => renderMessage(r, app.ctx, { inThread: true })) : [h('li', { class: 'muted empty', text: 'No replies yet.' })]));
    pending.replaceChildren(...app.outbox.forRoom(m.room_id, m.id).map((it) => renderPending(it, app.ctx)));
  };
  const onRoom = (e) => {
    const { roomId, message } = e.detail;
    if (roomId !== m.room_id) return;
    if (message?.parent_id === m.id) replies.set(message.id, app.store.timeline(roomId).byId.get(message.id) || message);
    render();
  };
  const onOutbox = () => render();
  app.store.addEventListener('room', onRoom);
  app.outbox.addEventListener('change', onOutbox);
  openPanel('thread', m.id, 'Thread', [parentList, h('h3', { class: 'small muted', text: 'Replies' }), list, pending, composer], () => {
    app.store.removeEventListener('room', onRoom);
    app.outbox.removeEventListener('change', onOutbox);
  });
  composer.init(app.ctx, { parentId: m.id, label: 'Reply in thread', id: 'thread-input' });
  composer.setRoom(m.room_id);
  render();
  composer.focus();
  try {
    await app.api.all(`/messages/${m.id}/thread`, (items) => { for (const r of items) { app.store.putUser(r.sender); replies.set(r.id, r); } }, 100);
    render();
  } catch (e) { list.replaceChildren(h('li', { class: 'error', text: errorText(e) })); }
}

/** openProfile shows a user's profile with a button to message them. */
export async function openProfile(app, userId) {
  const body = h('div', { class: 'profile' }, h('p', { class: 'muted', text: 'Loading…' }));
  openPanel('profile', userId, 'Profile', [body]);
  try {
    const u = await app.api.get(`/users/${userId}`);
    app.store.putUser(u);
    body.replaceChildren(
      avatar(u, 'avatar large'),
      h('h3', { class: 'profile-name', text: u.display_name }),
      h('p', { class: 'muted', text: '@' + u.username }),
      h('p', { class: 'profile-status' }, presenceDot(u.status), ' ', u.status),
      u.status_message ? h('p', { class: 'status-message', text: u.status_message }) : null,
      h('p', { class: 'muted small', text: `Member since ${fullTime(u.created_at)}` }),
      u.id === app.store.me.id
        ? h('button', { type: 'button', text: 'Edit your profile', on: { click: () => app.editProfile() } })
        : h('button', { type: 'button', class: 'primary', text: 'Send a direct message', on: { click: () => app.openDM(u.id) } }),
      u.id === app.store.me.id ? null : await blockButton(app, u));
  } catch (e) { body.replaceChildren(h('p', { class: 'error', text: errorText(e) })); }
}

/** openMembers lists the room's members with presence; admins may add and remove. */
export async function openMembers(app, roomId) {
  const room = app.store.rooms.get(roomId);
  const admin = room?.my_role === 'admin' || room?.my_role === 'owner';
  const list = h('ul', { class: 'member-list', 'aria-label': 'Members' });
  const load = async () => {
    const members = [];
    try {
      await app.api.all(`/rooms/${roomId}/members`, (items) => members.push(...items));
    } catch (e) { list.replaceChildren(h('li', { class: 'error', text: errorText(e) })); return; }
    list.replaceChildren(...members.map((mb) => {
      app.store.putUser(mb.user);
      const u = app.store.users.get(mb.user.id);
      return h('li', {}, presenceDot(u.status),
        h('button', { type: 'button', class: 'link-button', text: u.display_name, on: { click: () => openProfile(app, u.id) } }),
        mb.role !== 'member' ? h('span', { class: 'muted small', text: ` ${mb.role}` }) : null,
        mb.muted ? h('span', { class: 'muted small', text: ' muted' }) : null,
        u.status_message ? h('span', { class: 'muted small block', text: u.status_message }) : null,
        admin && mb.role !== 'owner' && u.id !== app.store.me.id && room.type !== 'direct'
          ? h('button', { type: 'button', class: 'small danger', text: 'Remove', 'aria-label': `Remove ${u.display_name}`, on: { click: async () => { await app.api.del(`/rooms/${roomId}/members/${u.id}`).catch(() => {}); load(); } } })
          : null,
        ...memberActions(app, roomId, mb, load));
    }));
  };
  const nodes = [list];
  if (admin && room.type !== 'direct') nodes.unshift(h('button', { type: 'button', class: 'small', text: 'Add member', on: { click: () => addMemberDialog(app, roomId, load) } }));
  openPanel('members', roomId, 'Members', nodes);
  await load();
}
