// <room-list>: the user's rooms by activity, with unread counts and mention badges.
// Links are real links (/r/:id) so the keyboard and middle-click work as expected.

import { h } from './dom.js';
import { presenceDot } from './message-view.js';

class RoomList extends HTMLElement {
  /** init wires the list: ctx = {store, open(roomId)}. */
  init(ctx) {
    this.ctx = ctx;
    this.list = h('ul', { class: 'room-list', 'aria-labelledby': 'rooms-heading' });
    this.replaceChildren(this.list);
    this.items = new Map();
    this.scheduled = false;
    const again = () => this.schedule();
    ctx.store.addEventListener('rooms', again);
    ctx.store.addEventListener('user', again);
    this.list.addEventListener('click', (e) => {
      const a = e.target.closest('a[data-room]');
      if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      ctx.open(a.dataset.room);
    });
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => { this.scheduled = false; this.render(); });
  }

  /** ordered lists the room IDs in display order. */
  ordered() { return this.ctx.store.sortedRooms().map((r) => r.id); }

  render() {
    const { store } = this.ctx;
    const rooms = store.sortedRooms();
    if (!rooms.length) {
      this.list.replaceChildren(h('li', { class: 'muted empty', text: 'No rooms yet.' }));
      this.items.clear();
      return;
    }
    const out = rooms.map((r) => this.item(r));
    // Replace only when the order or the items changed: most updates are in place.
    const same = out.length === this.list.children.length && out.every((el, i) => this.list.children[i] === el);
    if (!same) this.list.replaceChildren(...out);
  }

  item(r) {
    const { store } = this.ctx;
    const mentions = store.mentions.get(r.id) || 0;
    const unread = r.unread_count || 0;
    const active = store.openRoomId === r.id;
    const name = store.roomName(r);
    const peer = r.type === 'direct' && r.dmUserId ? store.users.get(r.dmUserId) : null;
    const sig = `${name}|${unread}|${mentions}|${active}|${r.type}|${peer?.status}`;
    let li = this.items.get(r.id);
    if (li && li.dataset.sig === sig) return li;
    const label = [name, unread ? `${unread} unread` : '', mentions ? `${mentions} ${mentions === 1 ? 'mention' : 'mentions'}` : ''].filter(Boolean).join(', ');
    const a = h('a', {
      href: `/r/${r.id}`, class: 'room-link' + (unread ? ' unread' : '') + (active ? ' active' : ''),
      dataset: { room: r.id }, 'aria-label': label, 'aria-current': active ? 'page' : null,
    },
    r.type === 'direct' ? presenceDot(peer?.status) : r.type === 'private' ? h('span', { class: 'room-sigil', 'aria-hidden': 'true' }, h('span', { class: 'i i-lock' })) : h('span', { class: 'room-sigil', 'aria-hidden': 'true', text: '#' }),
    h('span', { class: 'room-name', text: name }),
    mentions ? h('span', { class: 'badge mention', 'aria-hidden': 'true', text: '@' + mentions }) : null,
    unread ? h('span', { class: 'badge', 'aria-hidden': 'true', text: unread > 99 ? '99+' : String(unread) }) : null);
    li = h('li', { class: 'room-item' }, a);
    li.dataset.sig = sig;
    this.items.set(r.id, li);
    return li;
  }
}

customElements.define('room-list', RoomList);
