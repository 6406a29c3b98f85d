// The notification center (unread count in the top bar, list, mark all read) and
// desktop notifications through the Notification API. Permission is asked for only
// from a click (a user gesture). The room's level decides: `all` shows every
// message from others, `mentions` only mention/reply/DM notifications, `muted` none.

import { h } from './dom.js';
import { errorText } from './api.js';
import { openPanel, panelIs } from './panels.js';
import { fullTime } from './format.js';

const LABEL = { mention: 'mentioned you', reply: 'replied to you', room_invite: 'added you to a room', direct_message: 'sent you a message' };

export class Notifications {
  constructor(app) {
    this.app = app;
    app.store.addEventListener('notifications', () => { this.renderCount(); if (panelIs('notifications')) this.renderList(); });
  }

  async load() {
    try {
      const [list, count] = await Promise.all([this.app.api.get('/notifications?limit=100'), this.app.api.get('/notifications/unread-count')]);
      this.app.store.unreadNotifications = count.count;
      this.app.store.setNotifications(list.items);
      for (const n of list.items) this.app.store.putUser(n.actor);
    } catch { /* shown as zero; the next event corrects it */ }
  }

  renderCount() {
    const n = this.app.store.unreadNotifications;
    const badge = document.getElementById('notif-count');
    badge.hidden = n === 0;
    badge.textContent = n > 99 ? '99+' : String(n);
    document.getElementById('notif-button').setAttribute('aria-label', n ? `Notifications, ${n} unread` : 'Notifications');
  }

  /** onEvent handles a `notification` event: count, list, and maybe a desktop notification. */
  onEvent(n) {
    this.app.store.putUser(n.actor);
    this.app.store.addNotification(n);
    if (n.room_id && this.app.store.isReading(n.room_id) && n.type !== 'room_invite') this.markRead([n]); // seen already
    const room = this.app.store.rooms.get(n.room_id);
    const level = room?.notification_level || 'mentions';
    if (level === 'muted' || level === 'all') return; // `all` rooms notify per message (onMessage)
    if (n.type === 'mention' || n.type === 'reply' || n.type === 'direct_message') {
      this.desktop(`${n.actor?.display_name || 'Someone'} ${LABEL[n.type]}`, n.content || '', n.room_id, n.message_id);
    }
  }

  /** onMessage shows a desktop notification for a message in a room set to `all`. */
  onMessage(m) {
    if (m.sender?.id === this.app.store.me?.id || m.type === 'system') return;
    const room = this.app.store.rooms.get(m.room_id);
    if (room?.notification_level !== 'all') return;
    if (this.app.store.isReading(m.room_id) && document.hasFocus()) return;
    this.desktop(`${m.sender?.display_name} in ${this.app.store.roomName(room)}`, m.content, m.room_id, m.id);
  }

  desktop(title, body, roomId, messageId) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    if (this.app.store.isReading(roomId) && document.hasFocus()) return;
    try {
      const n = new Notification(title, { body: String(body).slice(0, 200), tag: messageId || roomId });
      n.onclick = () => { window.focus(); if (messageId) this.app.jumpToMessage(roomId, messageId); else this.app.open(roomId); };
    } catch { /* some platforms only allow notifications from a service worker */ }
  }

  open() {
    this.list = h('ol', { class: 'notification-list', 'aria-label': 'Notifications' });
    const tools = h('div', { class: 'panel-tools' },
      h('button', { type: 'button', class: 'small', text: 'Mark all as read', on: { click: () => this.markAll() } }));
    if ('Notification' in window && Notification.permission === 'default') {
      tools.append(h('button', { type: 'button', class: 'small', text: 'Enable desktop notifications', on: { click: async (e) => {
        const btn = e.currentTarget;
        await Notification.requestPermission();
        btn.remove();
      } } }));
    }
    openPanel('notifications', '', 'Notifications', [tools, this.list]);
    this.renderList();
  }

  renderList() {
    const items = this.app.store.notifications;
    this.list.replaceChildren(...(items.length ? items.map((n) => h('li', { class: 'notification' + (n.read ? '' : ' unread') },
      h('button', { type: 'button', class: 'hit-button', on: { click: () => this.choose(n) } },
        h('span', { class: 'small' }, h('strong', { text: n.actor?.display_name || 'Someone' }), ' ', LABEL[n.type] || n.type),
        n.content ? h('span', { class: 'block notification-content', text: n.content }) : null,
        h('time', { class: 'muted small block', datetime: n.created_at, text: fullTime(n.created_at) })))) : [h('li', { class: 'muted empty', text: 'Nothing new.' })]));
  }

  async choose(n) {
    if (!n.read) this.markRead([n]);
    if (n.room_id && n.message_id) this.app.jumpToMessage(n.room_id, n.message_id);
    else if (n.room_id) this.app.open(n.room_id);
  }

  /** markRead marks notifications read, on the server and here. */
  async markRead(list) {
    for (const n of list) {
      if (n.read) continue;
      n.read = true;
      this.app.store.unreadNotifications = Math.max(0, this.app.store.unreadNotifications - 1);
      this.app.api.patch(`/notifications/${n.id}/read`).catch(() => {});
    }
    this.app.store.recountMentions();
  }

  /** markRoomRead marks the room's mention and reply notifications read (the room was read). */
  markRoomRead(roomId) {
    const list = this.app.store.notifications.filter((n) => !n.read && n.room_id === roomId && n.type !== 'room_invite');
    if (list.length) this.markRead(list);
  }

  async markAll() {
    try {
      await this.app.api.patch('/notifications/read-all');
      for (const n of this.app.store.notifications) n.read = true;
      this.app.store.unreadNotifications = 0;
      this.app.store.recountMentions();
    } catch (e) { this.app.toast(errorText(e)); }
  }
}
