// <message-timeline>: one room's messages, newest at the bottom. Only a window of
// at most WINDOW messages is in the DOM; scrolling up moves the window back and,
// at the start of what is loaded, fetches the previous page of 50 (`before`).
// Day separators and grouping of consecutive messages are worked out per render.

import { h, announce } from './dom.js';
import { dayKey, dayLabel } from './format.js';
import { renderMessage, renderPending, canEdit } from './message-view.js';
import { errorText } from './api.js';

export const WINDOW = 150;
const STEP = 50;
const PAGE = 50;
const GROUP_MS = 5 * 60 * 1000;

class MessageTimeline extends HTMLElement {
  /** init wires the timeline to the app: ctx = {store, api, conn, outbox, actions}. */
  init(ctx) {
    this.ctx = ctx;
    this.roomId = null;
    this.start = 0;
    this.end = 0;
    this.cache = new Map();
    this.loading = false;
    this.editing = null;
    this.scroller = h('div', { class: 'timeline-scroll', tabindex: '0', role: 'region', 'aria-label': 'Messages' });
    this.top = h('p', { class: 'timeline-top muted' });
    this.list = h('ol', { class: 'messages', 'aria-label': 'Message list' });
    this.pending = h('ol', { class: 'messages pending-list', 'aria-label': 'Messages not yet sent' });
    this.scroller.append(this.top, this.list, this.pending);
    this.append(this.scroller);
    this.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    ctx.store.addEventListener('room', (e) => this.onRoomEvent(e.detail));
    ctx.outbox.addEventListener('change', (e) => { if (!e.detail || e.detail === this.roomId) this.renderPending(); });
    ctx.conn.addEventListener('state', () => this.renderPending());
  }

  get tl() { return this.ctx.store.timeline(this.roomId); }

  /** show opens a room: loads its newest page if needed and scrolls to the bottom. */
  async show(roomId) {
    this.roomId = roomId;
    this.cache = new Map();
    this.editing = null;
    this.list.replaceChildren();
    this.top.textContent = 'Loading…';
    const tl = this.tl;
    if (!tl.loaded) {
      try {
        const page = await this.ctx.api.get(`/rooms/${roomId}/messages?limit=${PAGE}`);
        if (this.roomId !== roomId) return;
        tl.setNewest(page.items, page.has_more);
        for (const m of page.items) this.ctx.store.putUser(m.sender);
      } catch (e) {
        this.top.textContent = `Cannot load messages: ${errorText(e)}`;
        return;
      }
    }
    this.end = tl.items.length;
    this.start = Math.max(0, this.end - WINDOW);
    this.render();
    this.renderPending();
    this.scrollToBottom();
    this.ctx.onOpened?.(roomId);
  }

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 40;
  }

  scrollToBottom() { this.scroller.scrollTop = this.scroller.scrollHeight; this.updateJump(); }

  atPresent() { return this.roomId && this.end === this.tl.items.length && this.atBottom(); }

  updateJump() {
    const away = this.roomId && (this.end < this.tl.items.length || this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight > 600);
    const btn = document.getElementById('jump-present');
    if (btn) btn.hidden = !away;
    this.ctx.store.atPresent = !!this.atPresent();
    if (this.ctx.store.atPresent) this.ctx.onAtPresent?.(this.roomId);
  }

  onScroll() {
    if (!this.roomId) return;
    const s = this.scroller;
    if (s.scrollTop < 300) this.older();
    else if (s.scrollHeight - s.scrollTop - s.clientHeight < 300 && this.end < this.tl.items.length) this.newer();
    this.updateJump();
  }

  /** older moves the window back by STEP, fetching an older page when needed. */
  async older() {
    if (this.loading) return;
    const tl = this.tl;
    const roomId = this.roomId;
    if (this.start === 0 && tl.hasMoreBefore) {
      this.loading = true;
      this.top.textContent = 'Loading older messages…';
      try {
        let added = 0;
        while (added === 0 && tl.hasMoreBefore) {
          const page = await this.ctx.api.get(`/rooms/${roomId}/messages?limit=${PAGE}&before=${tl.oldestId}`);
          if (this.roomId !== roomId) return;
          for (const m of page.items) this.ctx.store.putUser(m.sender);
          added = tl.prepend(page.items, page.has_more);
          if (!page.items.length) tl.hasMoreBefore = false;
        }
        this.start += added;
        this.end += added;
      } catch (e) {
        this.top.textContent = `Cannot load older messages: ${errorText(e)}`;
        return;
      } finally {
        this.loading = false;
      }
    }
    if (this.start === 0) { this.renderTop(); return; }
    const start = Math.max(0, this.start - STEP);
    this.moveWindow(start, Math.min(this.end, start + WINDOW));
  }

  newer() {
    const end = Math.min(this.tl.items.length, this.end + STEP);
    this.moveWindow(Math.max(this.start, end - WINDOW), end);
  }

  /** moveWindow renders [start, end) keeping what is on screen where it is. */
  moveWindow(start, end) {
    const anchor = [...this.list.children].find((el) => el.dataset.id && this.indexOf(el.dataset.id) >= start && this.indexOf(el.dataset.id) < end && el.offsetTop + el.offsetHeight > this.scroller.scrollTop);
    const before = anchor ? anchor.offsetTop - this.scroller.scrollTop : 0;
    this.start = start;
    this.end = end;
    this.render();
    if (anchor && anchor.isConnected) this.scroller.scrollTop = anchor.offsetTop - before;
  }

  indexOf(id) {
    const items = this.tl.items;
    for (let i = this.start; i < this.end; i++) if (items[i]?.id === id) return i;
    return items.findIndex((m) => m.id === id);
  }

  /** jumpToPresent shows the newest messages. */
  jumpToPresent() {
    this.end = this.tl.items.length;
    this.start = Math.max(0, this.end - WINDOW);
    this.render();
    this.scrollToBottom();
  }

  /** jumpTo loads pages back until message id is loaded, then shows it highlighted. */
  async jumpTo(id) {
    const tl = this.tl;
    for (let i = 0; i < 200 && !tl.byId.has(id) && tl.hasMoreBefore; i++) {
      const page = await this.ctx.api.get(`/rooms/${this.roomId}/messages?limit=100&before=${tl.oldestId}`);
      for (const m of page.items) this.ctx.store.putUser(m.sender);
      const added = tl.prepend(page.items, page.has_more);
      this.start += added;
      this.end += added;
    }
    const m = tl.byId.get(id);
    const target = m?.parent_id ? m.parent_id : id;
    const idx = tl.items.findIndex((x) => x.id === target);
    if (idx < 0) return false;
    this.start = Math.max(0, idx - Math.floor(WINDOW / 2));
    this.end = Math.min(tl.items.length, this.start + WINDOW);
    this.render();
    const el = this.list.querySelector(`[data-id="${target}"]`);
    if (el) {
      el.scrollIntoView({ block: 'center' });
      el.classList.add('flash');
      setTimeout(() => el.classList.remove('flash'), 2500);
    }
    this.updateJump();
    return true;
  }

  renderTop() {
    const tl = this.tl;
    if (this.start > 0 || tl.hasMoreBefore) this.top.textContent = '';
    else this.top.textContent = tl.items.length ? 'This is the start of the room.' : 'No messages yet. Say hello!';
  }

  /** render rebuilds the window's list items (message elements are cached). */
  render() {
    const items = this.tl.items;
    const out = [];
    let prev = null;
    const receiptFor = this.receiptTarget();
    for (let i = this.start; i < this.end; i++) {
      const m = items[i];
      if (!prev || dayKey(prev.created_at) !== dayKey(m.created_at)) {
        out.push(h('li', { class: 'day-separator' }, h('span', { text: dayLabel(m.created_at) })));
        prev = null;
      }
      const el = this.element(m, m.id === receiptFor?.id ? receiptFor.text : null);
      const grouped = prev && prev.type !== 'system' && m.type !== 'system' && prev.sender?.id === m.sender?.id &&
        new Date(m.created_at) - new Date(prev.created_at) < GROUP_MS;
      el.classList.toggle('grouped', !!grouped);
      out.push(el);
      prev = m;
    }
    this.list.replaceChildren(...out);
    this.renderTop();
    // Drop cached elements far outside the window so memory stays bounded too.
    if (this.cache.size > WINDOW * 3) {
      const keep = new Set(items.slice(this.start, this.end).map((m) => m.id));
      for (const id of this.cache.keys()) if (!keep.has(id)) this.cache.delete(id);
    }
  }

  element(m, receipt) {
    const key = m.id;
    let el = this.cache.get(key);
    const replies = this.tl.replies.get(m.id) || 0;
    const sig = `${m.edited_at}|${m.deleted}|${JSON.stringify(m.reactions)}|${replies}|${receipt}|${canEdit(m, this.ctx.store.me)}`;
    if (el && el.dataset.sig === sig) return el;
    if (this.editing === m.id && el) return el;
    el = renderMessage(m, this.ctx, { replies, receipt });
    el.dataset.sig = sig;
    this.cache.set(key, el);
    return el;
  }

  /** receiptTarget is my newest message with what its receipt says ("Read by 2", "Delivered"). */
  receiptTarget() {
    const items = this.tl.items;
    const me = this.ctx.store.me;
    const room = this.ctx.store.rooms.get(this.roomId);
    for (let i = items.length - 1; i >= 0 && i >= items.length - 30; i--) {
      const m = items[i];
      if (m.sender?.id !== me?.id || m.type === 'system' || m.deleted) continue;
      const n = this.ctx.store.readersOf(this.roomId, m.seq);
      let text;
      if (room?.type === 'direct') text = n > 0 ? 'Read' : 'Delivered';
      else text = n > 0 ? `Read by ${n}` : 'Delivered';
      return { id: m.id, seq: m.seq, text };
    }
    return null;
  }

  renderPending() {
    if (!this.roomId) return;
    const items = this.ctx.outbox.forRoom(this.roomId);
    this.pending.replaceChildren(...items.map((it) => renderPending(it, this.ctx)));
    this.pending.hidden = items.length === 0;
    if (items.length && this.atBottomBeforePending !== false) this.scrollToBottom();
  }

  onRoomEvent({ roomId, kind, message }) {
    if (roomId !== this.roomId || !this.ctx.store.timeline(roomId).loaded) return;
    const wasBottom = this.atBottom();
    if (kind === 'added') {
      const len = this.tl.items.length;
      if (message.parent_id) { this.render(); return; }
      if (this.end === len - 1) {
        this.end = len;
        if (this.end - this.start > WINDOW) this.start = this.end - WINDOW;
        this.moveWindow(this.start, this.end);
        if (wasBottom || message.sender?.id === this.ctx.store.me?.id) this.scrollToBottom();
      }
      if (message.sender?.id !== this.ctx.store.me?.id && message.type !== 'system') {
        announce(`New message from ${message.sender?.display_name || message.sender?.username}`);
      }
      this.updateJump();
    } else {
      this.render();
      if (wasBottom) this.scrollToBottom();
    }
  }

  /** startEdit turns message m into an inline editor (Enter saves, Escape cancels). */
  startEdit(m) {
    if (!canEdit(m, this.ctx.store.me)) return false;
    let el = this.list.querySelector(`[data-id="${m.id}"]`);
    if (!el) { this.jumpToPresent(); el = this.list.querySelector(`[data-id="${m.id}"]`); }
    if (!el) return false;
    this.editing = m.id;
    const content = el.querySelector('.msg-content');
    const area = h('textarea', { class: 'edit-input', 'aria-label': 'Edit message', rows: '2' });
    area.value = m.content;
    const err = h('p', { class: 'error', role: 'alert' });
    const done = () => { this.editing = null; this.cache.delete(m.id); this.render(); };
    const save = async () => {
      const text = area.value.trim();
      if (!text || text === m.content) { done(); return; }
      try {
        const updated = await this.ctx.api.put(`/messages/${m.id}`, { content: text });
        this.ctx.store.onMessageUpdated(updated);
        done();
      } catch (e) { err.textContent = errorText(e); }
    };
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); save(); }
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); done(); this.ctx.focusComposer?.(); }
    });
    const form = h('div', { class: 'edit-form' }, area, err,
      h('p', { class: 'muted small' }, 'Enter to save, Escape to cancel. ',
        h('button', { type: 'button', class: 'link-button', text: 'Save', on: { click: save } }), ' ',
        h('button', { type: 'button', class: 'link-button', text: 'Cancel', on: { click: done } })));
    content.replaceWith(form);
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
    return true;
  }

  /** lastOwnMessage is my newest editable message in the loaded timeline. */
  lastOwnMessage() {
    const items = this.tl.items;
    for (let i = items.length - 1; i >= 0; i--) if (canEdit(items[i], this.ctx.store.me)) return items[i];
    return null;
  }

  /** renderedCount is the number of message elements in the DOM (tests check the bound). */
  renderedCount() { return this.list.querySelectorAll('.msg').length; }
}

customElements.define('message-timeline', MessageTimeline);
