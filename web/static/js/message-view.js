// Rendering of one message (and of an outbox entry) as a list item. Every piece of
// user text goes in as text; the body is the server's sanitised content_html.

import { h, setSanitizedHTML, icon } from './dom.js';
import { time, fullTime, initials, hue, bytes } from './format.js';

export const EDIT_WINDOW_MS = 15 * 60 * 1000;

/** canEdit says whether me may still edit m (sender, within 15 minutes). */
export function canEdit(m, me) {
  return m.sender?.id === me?.id && !m.deleted && m.type !== 'system' && Date.now() - new Date(m.created_at).getTime() < EDIT_WINDOW_MS;
}

/** avatar renders a user's initials on their stable colour. */
export function avatar(user, cls = 'avatar') {
  const el = h('span', { class: cls, 'aria-hidden': 'true', text: initials(user?.display_name || user?.username) });
  el.dataset.hue = String(hue(user?.id || '') % 12);
  return el;
}

/** presenceDot shows a user's status as a coloured dot with an accessible name. */
export function presenceDot(status) {
  const s = status || 'offline';
  return h('span', { class: `presence presence-${s}`, role: 'img', 'aria-label': s, title: s });
}

/**
 * renderMessage returns the <li> of message m. ctx: {store, api, actions}, where
 * actions has react(m, emoji, on), picker(m, anchor), thread(m), edit(m), del(m),
 * profile(userId).
 */
export function renderMessage(m, ctx, opts = {}) {
  const { store, actions } = ctx;
  const me = store.me;
  if (m.type === 'system') {
    return h('li', { class: 'msg system', id: 'm-' + m.id, dataset: { id: m.id, seq: m.seq } },
      h('span', { class: 'system-text', text: m.content }), ' ',
      h('time', { datetime: m.created_at, title: fullTime(m.created_at), text: time(m.created_at) }));
  }
  const sender = store.users.get(m.sender?.id) || m.sender || {};
  const li = h('li', { class: 'msg', id: 'm-' + m.id, dataset: { id: m.id, seq: m.seq, sender: sender.id || '' } });
  const name = sender.display_name || sender.username || 'Unknown';
  li.append(h('div', { class: 'msg-gutter' },
    avatar(sender),
    h('time', { class: 'msg-hover-time', datetime: m.created_at, text: time(m.created_at), 'aria-hidden': 'true' })));
  const body = h('div', { class: 'msg-body' });
  body.append(h('div', { class: 'msg-meta' },
    h('button', { type: 'button', class: 'msg-sender link-button', text: name, on: { click: () => actions.profile(sender.id) } }),
    h('time', { datetime: m.created_at, title: fullTime(m.created_at), text: time(m.created_at) }),
    m.edited_at && !m.deleted ? h('span', { class: 'edited muted', text: '(edited)' }) : null));
  const content = h('div', { class: 'msg-content' });
  if (m.deleted) {
    content.classList.add('deleted');
    content.textContent = 'This message was deleted.';
  } else if (m.content_html) {
    setSanitizedHTML(content, m.content_html);
  } else {
    content.textContent = m.content || '';
  }
  body.append(content);
  if (m.attachments?.length && !m.deleted) body.append(renderAttachments(m.attachments, ctx));
  if (m.reactions?.length) {
    const rs = h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' });
    for (const r of m.reactions) {
      rs.append(h('button', {
        type: 'button', class: 'reaction' + (r.me ? ' mine' : ''), 'aria-pressed': r.me ? 'true' : 'false',
        'aria-label': `${r.emoji} ${r.count}${r.me ? ', including you' : ''}`, title: r.me ? 'Remove your reaction' : 'React',
        on: { click: () => actions.react(m, r.emoji, !r.me) },
      }, h('span', { class: 'reaction-emoji', text: r.emoji }), h('span', { class: 'reaction-count', text: String(r.count) })));
    }
    body.append(rs);
  }
  const replies = opts.replies || 0;
  if (replies && !opts.inThread) {
    body.append(h('button', { type: 'button', class: 'replies link-button', text: `${replies} ${replies === 1 ? 'reply' : 'replies'}`, on: { click: () => actions.thread(m) } }));
  }
  if (opts.receipt) body.append(h('p', { class: 'receipt muted', text: opts.receipt }));
  li.append(body);
  if (!m.deleted) {
    const tools = h('div', { class: 'msg-actions', role: 'toolbar', 'aria-label': 'Message actions' });
    tools.append(h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Add reaction', title: 'Add reaction', on: { click: (e) => actions.picker(m, e.currentTarget) } }, icon('smile')));
    if (!opts.inThread) tools.append(h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Reply in thread', title: 'Reply in thread', on: { click: () => actions.thread(m) } }, icon('reply')));
    if (canEdit(m, me)) tools.append(h('button', { type: 'button', class: 'icon-button edit-button', 'aria-label': 'Edit message', title: 'Edit', on: { click: () => actions.edit(m) } }, icon('edit')));
    const room = store.rooms.get(m.room_id);
    const admin = room?.my_role === 'admin' || room?.my_role === 'owner';
    if (admin && room?.type !== 'direct') tools.append(h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Pin message', title: 'Pin', on: { click: () => actions.pin(m) } }, icon('pin')));
    if (m.sender?.id !== me?.id && m.type !== 'system') tools.append(h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Report message', title: 'Report', on: { click: () => actions.report(m) } }, icon('flag')));
    if (m.sender?.id === me?.id || admin) {
      tools.append(h('button', { type: 'button', class: 'icon-button delete-button', 'aria-label': 'Delete message', title: 'Delete', on: { click: () => actions.del(m) } }, icon('trash')));
    }
    li.append(tools);
  }
  return li;
}

function renderAttachments(list, ctx) {
  const ul = h('ul', { class: 'attachments', 'aria-label': 'Attachments' });
  for (const a of list) {
    const li = h('li', { class: 'attachment' });
    if (a.thumbnail_url || (a.mime_type || '').startsWith('image/')) {
      const img = h('img', { class: 'thumb', alt: a.filename || 'image', width: '240', height: '160', loading: 'lazy' });
      ctx.api.blobURL(a.thumbnail_url || a.url).then((u) => { img.src = u; }).catch(() => { img.alt = `${a.filename} (cannot load)`; });
      li.append(h('button', { type: 'button', class: 'thumb-button', 'aria-label': `Open ${a.filename}`, on: { click: () => openFile(a, ctx) } }, img));
    }
    li.append(h('button', { type: 'button', class: 'file link-button', on: { click: () => openFile(a, ctx) } },
      icon('clip'), h('span', { class: 'file-name', text: a.filename }), h('span', { class: 'muted', text: ` ${bytes(a.size || 0)}` })));
    ul.append(li);
  }
  return ul;
}

async function openFile(a, ctx) {
  try {
    const u = await ctx.api.blobURL(a.url);
    const link = h('a', { href: u, download: a.filename || 'file' });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (e) {
    ctx.actions.toast?.(`Cannot download ${a.filename}`);
  }
}

/** renderPending returns the <li> of an outbox entry: visibly pending, or failed with Retry. */
export function renderPending(it, ctx) {
  const me = ctx.store.me || {};
  const state = it.state === 'failed' ? 'Not sent' : ctx.conn.state === 'connected' ? 'Sending…' : 'Waiting for connection…';
  const li = h('li', { class: `msg pending ${it.state}`, dataset: { clientMsgId: it.client_msg_id } },
    h('div', { class: 'msg-gutter' }, avatar(me)),
    h('div', { class: 'msg-body' },
      h('div', { class: 'msg-meta' }, h('span', { class: 'msg-sender', text: me.display_name || me.username || '' }),
        h('span', { class: 'pending-state muted', text: it.error && it.state !== 'failed' ? it.error : state })),
      h('div', { class: 'msg-content', text: it.content })));
  if (it.state === 'failed') {
    li.querySelector('.msg-body').append(h('p', { class: 'error' }, it.error || 'The server refused this message.', ' ',
      h('button', { type: 'button', class: 'link-button', text: 'Retry', on: { click: () => ctx.outbox.retry(it.client_msg_id) } }), ' ',
      h('button', { type: 'button', class: 'link-button', text: 'Discard', on: { click: () => ctx.outbox.remove(it.client_msg_id) } })));
  }
  return li;
}
