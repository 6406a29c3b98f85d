// Client state: the signed-in user, their rooms, each opened room's messages, users
// seen, typing, read markers and notifications. Views subscribe to change events:
// 'rooms' (the list or a room's counts), 'room' (detail: {roomId, kind, message?}),
// 'user' (detail: userId), 'notifications', 'typing' (detail: roomId).

export class Store extends EventTarget {
  constructor() {
    super();
    this.reset();
  }

  reset() {
    this.me = null;
    this.rooms = new Map();
    this.users = new Map();
    this.timelines = new Map(); // roomId -> Timeline
    this.typing = new Map(); // roomId -> Map(userId -> expiry)
    this.markers = new Map(); // roomId -> Map(userId -> seq)
    this.notifications = [];
    this.unreadNotifications = 0;
    this.mentions = new Map(); // roomId -> unread mention/reply notifications
    this.openRoomId = null;
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  setMe(u) { this.me = u; this.putUser(u); }

  putUser(u) {
    if (!u?.id) return;
    const old = this.users.get(u.id);
    this.users.set(u.id, old ? Object.assign(old, u) : { ...u });
    this.emit('user', u.id);
  }

  userName(id) {
    const u = this.users.get(id);
    return u ? (u.display_name || u.username) : 'Someone';
  }

  /** putRooms adds or updates many rooms with one change event. */
  putRooms(list) {
    this.quiet = true;
    try { for (const r of list) this.putRoom(r); } finally { this.quiet = false; }
    this.emit('rooms');
  }

  putRoom(r) {
    const old = this.rooms.get(r.id);
    if (old) {
      // room_updated carries no per-caller fields: keep ours.
      for (const k of ['name', 'description', 'member_count', 'last_message_at', 'type', 'created_at', 'created_by']) {
        if (r[k] !== undefined) old[k] = r[k];
      }
      for (const k of ['my_role', 'notification_level', 'unread_count']) {
        if (r[k] !== undefined && r[k] !== null && !(k === 'unread_count' && r._event)) old[k] = r[k];
      }
    } else {
      this.rooms.set(r.id, { ...r, unread_count: r.unread_count || 0 });
    }
    if (!this.quiet) this.emit('rooms');
  }

  removeRoom(id) {
    this.rooms.delete(id);
    this.timelines.delete(id);
    this.emit('rooms');
  }

  /** sortedRooms lists rooms by activity: last_message_at, else created_at, newest first. */
  sortedRooms() {
    const at = (r) => r.last_message_at || r.created_at || '';
    return [...this.rooms.values()].sort((a, b) => (at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : 0));
  }

  roomName(r) {
    if (!r) return '';
    if (r.type !== 'direct') return r.name || 'Unnamed room';
    return r.dmName || 'Direct message';
  }

  timeline(roomId) {
    if (!this.timelines.has(roomId)) this.timelines.set(roomId, new Timeline());
    return this.timelines.get(roomId);
  }

  /**
   * onMessage handles a message_created (live or replayed) or a sent message's ack.
   * Returns false when it was ignored (duplicate, or a gap that needs a resync).
   */
  onMessage(m, live = true) {
    this.putUser(m.sender);
    const r = this.rooms.get(m.room_id);
    const tl = this.timelines.get(m.room_id);
    let fresh = true;
    if (tl?.loaded) {
      const res = tl.append(m);
      if (res === 'gap') { this.emit('gap', m.room_id); return false; }
      fresh = res === 'added';
      if (fresh) this.emit('room', { roomId: m.room_id, kind: 'added', message: m });
    }
    if (r && fresh) {
      if (!r.last_message_at || m.created_at > r.last_message_at) r.last_message_at = m.created_at;
      const mine = m.sender?.id === this.me?.id;
      if (live && !mine && m.type !== 'system' && !this.isReading(m.room_id)) r.unread_count = (r.unread_count || 0) + 1;
      this.emit('rooms');
    }
    return fresh;
  }

  /** isReading says whether the user sees the room's newest messages right now. */
  isReading(roomId) {
    return this.openRoomId === roomId && document.visibilityState === 'visible' && this.atPresent;
  }

  onMessageUpdated(m) {
    const tl = this.timelines.get(m.room_id);
    const old = tl?.byId.get(m.id);
    if (!old) return;
    Object.assign(old, { content: m.content, content_html: m.content_html, edited_at: m.edited_at, deleted: m.deleted, attachments: m.attachments, type: m.type });
    this.emit('room', { roomId: m.room_id, kind: 'updated', message: old });
  }

  onMessageDeleted(roomId, id) {
    const old = this.timelines.get(roomId)?.byId.get(id);
    if (!old) return;
    Object.assign(old, { deleted: true, content: '[deleted]', content_html: '', attachments: [], reactions: [] });
    this.emit('room', { roomId, kind: 'updated', message: old });
  }

  onReaction(roomId, messageId, emoji, userId, added) {
    const m = this.timelines.get(roomId)?.byId.get(messageId);
    if (!m) return;
    m.reactions = m.reactions || [];
    let g = m.reactions.find((x) => x.emoji === emoji);
    const mine = userId === this.me?.id;
    if (added) {
      if (!g) { g = { emoji, count: 0, me: false }; m.reactions.push(g); }
      g.count++;
      if (mine) g.me = true;
    } else if (g) {
      g.count--;
      if (mine) g.me = false;
      if (g.count <= 0) m.reactions = m.reactions.filter((x) => x !== g);
    }
    this.emit('room', { roomId, kind: 'updated', message: m });
  }

  setTyping(roomId, userId, on) {
    if (userId === this.me?.id) return;
    if (!this.typing.has(roomId)) this.typing.set(roomId, new Map());
    const t = this.typing.get(roomId);
    if (on) t.set(userId, Date.now() + 7000); else t.delete(userId);
    this.emit('typing', roomId);
  }

  typers(roomId) {
    const t = this.typing.get(roomId);
    if (!t) return [];
    const now = Date.now();
    for (const [u, exp] of t) if (exp < now) t.delete(u);
    return [...t.keys()];
  }

  /** setMarker records that userId has read up to seq in roomId. */
  setMarker(roomId, userId, seq) {
    if (!this.markers.has(roomId)) this.markers.set(roomId, new Map());
    const m = this.markers.get(roomId);
    if ((m.get(userId) || 0) < seq) m.set(userId, seq);
    this.emit('room', { roomId, kind: 'receipts' });
  }

  readersOf(roomId, seq) {
    const m = this.markers.get(roomId);
    if (!m) return 0;
    let n = 0;
    for (const [u, s] of m) if (u !== this.me?.id && s >= seq) n++;
    return n;
  }

  setNotifications(items) {
    this.notifications = items;
    this.recountMentions();
  }

  addNotification(n) {
    if (this.notifications.some((x) => x.id === n.id)) return;
    this.notifications.unshift(n);
    if (!n.read) this.unreadNotifications++;
    this.recountMentions();
  }

  recountMentions() {
    this.mentions = new Map();
    for (const n of this.notifications) {
      if (!n.read && (n.type === 'mention' || n.type === 'reply') && n.room_id) {
        this.mentions.set(n.room_id, (this.mentions.get(n.room_id) || 0) + 1);
      }
    }
    this.emit('notifications');
    this.emit('rooms');
  }
}

/**
 * Timeline is one room's loaded history: a contiguous run of messages up to the
 * newest, in seq order, extended backwards a page at a time. items holds the
 * top-level messages (what the timeline shows); replies are counted per parent.
 */
export class Timeline {
  constructor() {
    this.loaded = false;
    this.items = [];
    this.byId = new Map();
    this.replies = new Map(); // parentId -> count among loaded replies
    this.lastSeq = 0;
    this.firstSeq = 0;
    this.oldestId = null;
    this.hasMoreBefore = true;
  }

  /** setNewest loads the newest page (items oldest first). */
  setNewest(page, hasMore) {
    this.items = [];
    this.byId = new Map();
    this.replies = new Map();
    this.loaded = true;
    this.hasMoreBefore = hasMore;
    this.lastSeq = 0;
    this.firstSeq = page.length ? page[0].seq : 0;
    this.oldestId = page.length ? page[0].id : null;
    for (const m of page) this.take(m, false);
    this.lastSeq = page.length ? page[page.length - 1].seq : 0;
  }

  /** prepend adds an older page; returns how many top-level messages it added. */
  prepend(page, hasMore) {
    this.hasMoreBefore = hasMore;
    const top = [];
    for (const m of page) {
      if (this.byId.has(m.id)) continue;
      this.byId.set(m.id, m);
      if (m.parent_id) this.replies.set(m.parent_id, (this.replies.get(m.parent_id) || 0) + 1);
      else top.push(m);
    }
    if (page.length) { this.firstSeq = page[0].seq; this.oldestId = page[0].id; }
    this.items = top.concat(this.items);
    return top.length;
  }

  take(m, atEnd = true) {
    this.byId.set(m.id, m);
    if (m.parent_id) this.replies.set(m.parent_id, (this.replies.get(m.parent_id) || 0) + 1);
    else this.items.push(m);
    if (atEnd) this.lastSeq = m.seq;
  }

  /** append adds the next message: 'added', 'dup' (seen already) or 'gap' (a seq is missing). */
  append(m) {
    if (m.seq <= this.lastSeq || this.byId.has(m.id)) return 'dup';
    if (this.lastSeq && m.seq !== this.lastSeq + 1) return 'gap';
    this.take(m);
    return 'added';
  }
}
