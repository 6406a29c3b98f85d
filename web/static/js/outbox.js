// The outbox: messages the user sent that the server has not acknowledged yet. They
// are kept in localStorage (per user), shown as pending in their room, sent over
// the WebSocket with their client_msg_id, and resent with the same id after a
// reconnect or when no answer came: the server stores each id once.

import { uuidv7 } from './format.js';

const RESEND_AFTER = 30000;

export class Outbox extends EventTarget {
  /** conn: the Connection; onStored(message): called with each acknowledged message. */
  constructor(conn, onStored) {
    super();
    this.conn = conn;
    this.onStored = onStored;
    this.items = [];
    this.key = null;
  }

  load(userId) {
    this.key = `chatd.outbox.${userId}`;
    try { this.items = JSON.parse(localStorage.getItem(this.key) || '[]'); } catch { this.items = []; }
    for (const it of this.items) if (it.state === 'sending') it.state = 'pending';
    this.changed();
  }

  save() { if (this.key) localStorage.setItem(this.key, JSON.stringify(this.items)); }

  changed(roomId) {
    this.save();
    this.dispatchEvent(new CustomEvent('change', { detail: roomId }));
  }

  /** forRoom lists the room's unacknowledged messages (top level or of one thread). */
  forRoom(roomId, parentId = null) {
    return this.items.filter((i) => i.room_id === roomId && (i.parent_id || null) === parentId);
  }

  /** add queues a new message and sends it when connected. */
  add(roomId, content, parentId = null, attachments = []) {
    const it = { client_msg_id: uuidv7(), room_id: roomId, content, parent_id: parentId, attachments, state: 'pending', created_at: new Date().toISOString() };
    this.items.push(it);
    this.changed(roomId);
    this.send(it);
    return it;
  }

  /** flush sends every pending message, oldest first (after a reconnect). */
  flush() {
    for (const it of this.items) if (it.state === 'pending') this.send(it);
  }

  remove(id) {
    const it = this.items.find((i) => i.client_msg_id === id);
    this.items = this.items.filter((i) => i.client_msg_id !== id);
    if (it) this.changed(it.room_id);
  }

  retry(id) {
    const it = this.items.find((i) => i.client_msg_id === id);
    if (it) { it.state = 'pending'; it.error = null; this.changed(it.room_id); this.send(it); }
  }

  /** acked removes the message whose client_msg_id the server stored. */
  acked(message) {
    if (message.client_msg_id && this.items.some((i) => i.client_msg_id === message.client_msg_id)) {
      this.remove(message.client_msg_id);
    }
  }

  async send(it) {
    if (this.conn.state !== 'connected' || it.state === 'sending') return;
    it.state = 'sending';
    this.changed(it.room_id);
    const data = { room_id: it.room_id, content: it.content, client_msg_id: it.client_msg_id };
    if (it.parent_id) data.parent_id = it.parent_id;
    if (it.attachments?.length) data.attachments = it.attachments;
    // No answer at all means the server could not know the outcome: resend, same id.
    const timer = setTimeout(() => {
      if (it.state === 'sending') { it.state = 'pending'; this.send(it); }
    }, RESEND_AFTER);
    try {
      const ack = await this.conn.command('send_message', data);
      clearTimeout(timer);
      this.onStored(ack.message);
      this.remove(it.client_msg_id);
    } catch (e) {
      clearTimeout(timer);
      if (!this.items.includes(it)) return;
      if (e.code === 'disconnected') { it.state = 'pending'; this.changed(it.room_id); return; }
      if (e.code === 'rate_limited' || e.code === 'unavailable' || e.code === 'not_owner') {
        it.state = 'pending';
        it.error = e.code === 'rate_limited' ? 'Sending too fast: waiting…' : 'Server busy: retrying…';
        this.changed(it.room_id);
        setTimeout(() => { it.state = 'pending'; this.send(it); }, Math.max(500, e.retry_after_ms || 1000));
        return;
      }
      it.state = 'failed';
      it.error = e.message || e.code;
      this.changed(it.room_id);
    }
  }
}
