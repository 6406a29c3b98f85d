// The application: session, routing, the room view and the wiring between the
// WebSocket, the state and the views.

import { Api, errorText } from './api.js';
import { Connection } from './ws.js';
import { Store } from './store.js';
import { Outbox } from './outbox.js';
import { Notifications } from './notifications.js';
import { handleEvent } from './events.js';
import { showAuth } from './auth.js';
import { installShortcuts } from './shortcuts.js';
import { applyTheme, cycleTheme } from './theme.js';
import { enableDrop } from './composer.js';
import { openPanel, closePanel, openThread, openProfile, openMembers } from './panels.js';
import { openSearch } from './search.js';
import * as dialogs from './dialogs.js';
import * as moderation from './moderation.js';
import { avatar } from './message-view.js';
import { h } from './dom.js';
import './sidebar.js';
import './timeline.js';
import './emoji-picker.js';

const $ = (id) => document.getElementById(id);

export class App {
  constructor() {
    this.api = new Api();
    this.conn = new Connection();
    this.store = new Store();
    this.outbox = new Outbox(this.conn, (m) => { this.store.onMessage(m); });
    this.notifications = new Notifications(this);
    this.picker = document.createElement('emoji-picker');
    document.body.append(this.picker);
    this.ctx = {
      store: this.store, api: this.api, conn: this.conn, outbox: this.outbox,
      actions: this.actions(),
      onOpened: (id) => this.onOpened(id),
      onAtPresent: () => this.markReadSoon(),
      focusComposer: () => this.focusComposer(),
    };
    this.api.onUnauthorized = () => this.signOut();
    this.conn.onDialFailed = () => this.checkSession();
    this.conn.addEventListener('state', (e) => this.renderConn(e.detail));
    this.conn.addEventListener('open', () => this.onConnected());
    this.conn.addEventListener('event', (e) => handleEvent(this, e.detail));
    this.store.addEventListener('typing', (e) => { if (e.detail === this.store.openRoomId) this.renderTyping(); });
    this.store.addEventListener('gap', (e) => this.resync(e.detail));
    this.store.addEventListener('rooms', () => this.renderTitle());
    setInterval(() => this.renderTyping(), 1000);
    this.connectedOnce = false;
  }

  actions() {
    return {
      react: (m, emoji, on) => this.react(m, emoji, on),
      picker: (m, anchor) => this.picker.open(anchor, (e) => this.react(m, e, true)),
      thread: (m) => openThread(this, m),
      edit: (m) => this.timeline.startEdit(m),
      del: (m) => dialogs.confirmDialog('Delete message?', 'This cannot be undone.', 'Delete', async () => {
        const t = await this.api.del(`/messages/${m.id}`);
        this.store.onMessageDeleted(t.room_id, t.id);
      }),
      profile: (id) => openProfile(this, id),
      editLast: () => { const m = this.timeline.lastOwnMessage(); return m ? this.timeline.startEdit(m) : false; },
      toast: (t) => this.toast(t),
      pin: (m) => moderation.pin(this, m),
      report: (m) => moderation.report(this, m),
      sent: () => { this.timeline.scrollToBottom(); },
    };
  }

  /** start boots the app: the saved session, or the sign-in form. */
  async start() {
    applyTheme();
    this.timeline = $('timeline');
    this.composer = $('composer');
    this.timeline.init(this.ctx);
    this.composer.init(this.ctx);
    $('room-list').init({ store: this.store, open: (id) => this.open(id) });
    enableDrop($('room-view'), $('drop-overlay'), this.composer);
    installShortcuts(this);
    this.bindChrome();
    window.addEventListener('popstate', () => this.route());
    document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') this.markReadSoon(); });
    const token = localStorage.getItem('chatd.token');
    if (token) {
      this.api.token = token;
      let me = null;
      try { me = JSON.parse(localStorage.getItem('chatd.me') || 'null'); } catch { /* fetched below */ }
      const fresh = this.api.get('/auth/me');
      try {
        if (!me) me = await fresh;
        else fresh.then((u) => { this.store.setMe(u); this.renderMe(); }, () => {}); // a 401 signs out
        await this.startSession(token, me);
        return;
      } catch (e) {
        if (e.status !== 401) { this.toast(`Cannot reach the server: ${errorText(e)}`); }
        this.api.token = null;
        localStorage.removeItem('chatd.token');
      }
    }
    this.route();
  }

  bindChrome() {
    $('menu-button').onclick = () => this.toggleDrawer();
    $('scrim').onclick = () => this.closeDrawer();
    $('search-button').onclick = () => this.search();
    $('notif-button').onclick = () => this.notifications.open();
    $('theme-button').onclick = () => cycleTheme();
    $('help-button').onclick = () => this.help();
    $('me-button').onclick = () => this.editProfile();
    $('conn-retry').onclick = () => this.conn.retryNow();
    $('new-room-button').onclick = () => dialogs.createRoomDialog(this);
    $('discover-button').onclick = () => dialogs.discoverDialog(this);
    $('new-dm-button').onclick = () => dialogs.newDMDialog(this);
    $('panel-close').onclick = () => { closePanel(); this.focusComposer(); };
    $('jump-present').onclick = () => { this.timeline.jumpToPresent(); this.focusComposer(); };
    $('members-button').onclick = () => openMembers(this, this.store.openRoomId);
    $('pins-button').onclick = () => moderation.openPins(this, this.store.openRoomId);
    $('reports-button').onclick = () => moderation.openReports(this, this.store.openRoomId);
    $('settings-button').onclick = () => moderation.roomSettings(this, this.store.openRoomId);
    $('invite-button').onclick = () => dialogs.inviteDialog(this, this.store.openRoomId).catch((e) => this.toast(errorText(e)));
    $('leave-button').onclick = () => this.leave(this.store.openRoomId);
    $('level-select').onchange = async (e) => {
      const id = this.store.openRoomId;
      try { this.store.putRoom(await this.api.put(`/rooms/${id}/notification-level`, { level: e.target.value })); } catch (err) { this.toast(errorText(err)); }
    };
  }

  /** startSession shows the app for a signed-in user and connects. */
  async startSession(token, me) {
    this.api.token = token;
    localStorage.setItem('chatd.token', token);
    localStorage.setItem('chatd.me', JSON.stringify(me));
    this.store.setMe(me);
    this.outbox.load(me.id);
    $('auth').hidden = true;
    $('app').hidden = false;
    this.renderMe();
    this.notifications.load();
    // The room in the URL loads alongside the room list; the WebSocket (which joins
    // every room) starts once both are in, so it does not compete with the first paint.
    const rooms = this.loadRooms();
    const shown = this.route();
    await Promise.all([rooms, shown]);
    this.conn.start(token);
  }

  async loadRooms() {
    // The first page is shown at once; later pages are shown together at the end,
    // so that a long list is laid out twice, not once per page.
    let first = true;
    try {
      await this.api.all('/rooms', (items) => {
        if (first) { this.store.putRooms(items); first = false; return; }
        this.store.quiet = true;
        try { for (const r of items) this.store.putRoom(r); } finally { this.store.quiet = false; }
      });
    } catch (e) { this.toast(`Cannot load your rooms: ${errorText(e)}`); }
    this.store.emit('rooms');
    if (!window.chatdRoomsAt) window.chatdRoomsAt = performance.now();
    this.nameDMs();
  }

  /** nameDMs names direct rooms after the other member. */
  async nameDMs() {
    for (const r of this.store.rooms.values()) {
      if (r.type !== 'direct' || r.dmUserId) continue;
      try {
        const page = await this.api.get(`/rooms/${r.id}/members?limit=2`);
        const other = page.items.find((m) => m.user.id !== this.store.me.id) || page.items[0];
        if (other) {
          this.store.putUser(other.user);
          r.dmUserId = other.user.id;
          r.dmName = other.user.display_name;
          this.store.emit('rooms');
          if (r.id === this.store.openRoomId) this.renderHeader();
        }
      } catch { /* left unnamed */ }
    }
  }

  signOut() {
    this.api.post('/auth/logout').catch(() => {});
    this.conn.stop();
    localStorage.removeItem('chatd.token');
    localStorage.removeItem('chatd.me');
    this.api.token = null;
    this.store.reset();
    closePanel();
    dialogs.closeDialog();
    this.navigate('/signin', true);
  }

  /** checkSession signs out when the token no longer works (a refused WebSocket says no more). */
  async checkSession() {
    try { await this.api.get('/auth/me'); } catch { /* 401 signs out through onUnauthorized */ }
  }

  navigate(path, replace = false) {
    if (location.pathname + location.search !== path) history[replace ? 'replaceState' : 'pushState'](null, '', path);
    this.route();
  }

  route() {
    const p = location.pathname;
    const signedIn = !!this.store.me;
    const invite = p.match(/^\/join\/([A-Za-z0-9]+)$/);
    if (!signedIn) {
      const mode = p === '/signup' ? 'signup' : 'signin';
      if (invite) { history.replaceState(null, '', `/signin?invite=${invite[1]}`); }
      showAuth(this, mode, async (token, user) => {
        const next = new URLSearchParams(location.search).get('invite');
        history.replaceState(null, '', next ? `/join/${next}` : '/');
        await this.startSession(token, user);
      });
      return;
    }
    if (p === '/signin' || p === '/signup') { history.replaceState(null, '', '/'); }
    if (invite) { dialogs.acceptInviteDialog(this, invite[1]); history.replaceState(null, '', '/'); return; }
    const room = p.match(/^\/r\/([0-9a-f-]{36})$/);
    if (room) return this.open(room[1], false);
    this.showEmpty();
    return null;
  }

  showEmpty() {
    this.store.openRoomId = null;
    $('room-view').hidden = true;
    $('empty-state').hidden = false;
    this.store.emit('rooms');
    document.body.dataset.ready = '1';
  }

  /** open shows a room (fetching it if it is not in the list). */
  async open(roomId, push = true) {
    if (push) { history.pushState(null, '', `/r/${roomId}`); }
    this.closeDrawer();
    if (!this.store.rooms.has(roomId)) {
      let r;
      try { r = await this.api.get(`/rooms/${roomId}`); } catch (e) { this.toast(`Cannot open the room: ${errorText(e)}`); this.showEmpty(); return; }
      if (!r.my_role) {
        // A public room one is not in yet: offer to join, list it only once joined.
        this.showEmpty();
        dialogs.openDialog(`Join ${r.name}?`, [h('p', { text: 'You are not a member of this room yet.' })], [{ label: 'Not now' },
          { label: 'Join', primary: true, run: async () => { this.addRoom(await this.api.post(`/rooms/${roomId}/join`)); this.open(roomId, false); } }]);
        return;
      }
      this.addRoom(r);
    }
    document.body.dataset.ready = '';
    this.store.openRoomId = roomId;
    $('empty-state').hidden = true;
    $('room-view').hidden = false;
    this.renderHeader();
    this.renderTyping();
    this.composer.setRoom(roomId);
    this.store.emit('rooms');
    await this.timeline.show(roomId);
    this.focusComposer();
  }

  /** onOpened runs once a room's timeline is on screen: resume, receipts, read marker. */
  onOpened(roomId) {
    document.body.dataset.ready = '1';
    // When the first room was usable, in ms since navigation (the load test reads it).
    if (!window.chatdReadyAt) window.chatdReadyAt = performance.now();
    this.rejoin(roomId);
    this.markReadSoon();
    const last = this.timeline.receiptTarget();
    if (last) {
      this.api.get(`/messages/${last.id}/receipts`).then((res) => {
        for (const r of res.items) this.store.setMarker(roomId, r.user.id, last.seq);
      }).catch(() => {});
    }
  }

  /** rejoin (re)subscribes to a room, resuming after the last seq loaded. */
  rejoin(roomId) {
    const tl = this.store.timelines.get(roomId);
    const data = { room_id: roomId };
    if (tl?.loaded) data.since_seq = tl.lastSeq;
    return this.conn.command('join_room', data).catch((e) => {
      if (e.code === 'not_member' || e.code === 'not_found') this.roomGone(roomId);
    });
  }

  resync(roomId) {
    if (this.resyncing?.has(roomId)) return;
    this.resyncing = this.resyncing || new Set();
    this.resyncing.add(roomId);
    this.rejoin(roomId).finally(() => this.resyncing.delete(roomId));
  }

  /** onConnected joins every room (resuming opened ones by seq), then sends the outbox. */
  async onConnected() {
    const open = this.store.openRoomId;
    const joins = [];
    for (const r of this.store.sortedRooms()) if (r.id !== open) joins.push(this.rejoin(r.id));
    if (open) joins.push(this.rejoin(open));
    this.outbox.flush();
    if (this.connectedOnce) {
      // Counts of rooms not open may have moved while away.
      this.api.all('/rooms', (items) => this.store.putRooms(items)).catch(() => {});
      this.notifications.load();
    }
    this.connectedOnce = true;
    await Promise.allSettled(joins);
  }

  addRoom(room) {
    this.store.putRoom(room);
    if (room.type === 'direct') this.nameDMs();
    if (this.conn.state === 'connected') this.rejoin(room.id);
  }

  async fetchRoom(id) {
    try { this.addRoom(await this.api.get(`/rooms/${id}`)); } catch { /* not visible */ }
  }

  roomGone(id) {
    this.store.removeRoom(id);
    if (this.store.openRoomId === id) { closePanel(); this.navigate('/', true); }
  }

  async openDM(userId) {
    try {
      const room = await this.api.post('/rooms', { type: 'direct', user_id: userId });
      this.addRoom(room);
      closePanel();
      this.open(room.id);
    } catch (e) { this.toast(errorText(e)); }
  }

  leave(roomId) {
    const r = this.store.rooms.get(roomId);
    dialogs.confirmDialog(`Leave ${this.store.roomName(r)}?`, r?.type === 'private' ? 'You will need a new invite to come back.' : 'You can join again later.', 'Leave', async () => {
      await this.api.post(`/rooms/${roomId}/leave`);
      this.conn.send('leave_room', { room_id: roomId });
      this.roomGone(roomId);
    });
  }

  async jumpToMessage(roomId, messageId) {
    if (window.matchMedia('(max-width: 700px)').matches) closePanel();
    if (this.store.openRoomId !== roomId) await this.open(roomId);
    const ok = await this.timeline.jumpTo(messageId).catch(() => false);
    if (!ok) this.toast('That message is no longer available.');
  }

  async react(m, emoji, on) {
    try {
      if (on) await this.api.post(`/messages/${m.id}/reactions`, { emoji });
      else await this.api.del(`/messages/${m.id}/reactions/${encodeURIComponent(emoji)}`);
    } catch (e) {
      if (e.code !== 'reaction_exists' && e.status !== 409) this.toast(errorText(e));
    }
  }

  /** markReadSoon moves the read marker to the newest message when the user sees it. */
  markReadSoon() {
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      const id = this.store.openRoomId;
      if (!id || !this.store.isReading(id)) return;
      const tl = this.store.timelines.get(id);
      const r = this.store.rooms.get(id);
      if (!tl?.loaded || !tl.items.length) return;
      let last = null;
      for (const m of tl.byId.values()) if (!last || m.seq > last.seq) last = m;
      if (r) { r.unread_count = 0; this.store.emit('rooms'); }
      this.notifications.markRoomRead(id);
      if (tl.readSeq >= last.seq) return;
      tl.readSeq = last.seq;
      this.conn.command('read_message', { message_id: last.id }).catch(() => { tl.readSeq = 0; });
    }, 300);
  }

  renderHeader() {
    const r = this.store.rooms.get(this.store.openRoomId);
    if (!r) return;
    $('room-title').textContent = this.store.roomName(r);
    $('room-desc').textContent = r.type === 'direct' ? 'Direct message' : `${r.member_count || 0} ${r.member_count === 1 ? 'member' : 'members'}${r.description ? ' · ' + r.description : ''}`;
    const admin = r.my_role === 'admin' || r.my_role === 'owner';
    $('invite-button').hidden = r.type === 'direct' || !admin;
    $('reports-button').hidden = r.type === 'direct' || !admin;
    $('settings-button').hidden = r.type === 'direct' || !admin;
    $('level-select').value = r.notification_level || (r.type === 'direct' ? 'all' : 'mentions');
    this.renderTitle();
  }

  renderTitle() {
    const r = this.store.rooms.get(this.store.openRoomId);
    const n = this.store.unreadNotifications;
    document.title = `${n ? `(${n}) ` : ''}${r ? this.store.roomName(r) + ' · ' : ''}chatd`;
  }

  renderTyping() {
    const id = this.store.openRoomId;
    const names = id ? this.store.typers(id).map((u) => this.store.userName(u)) : [];
    $('typing').textContent = names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…`
      : names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : 'Several people are typing…';
  }

  renderConn(state) {
    const el = $('conn-status');
    el.dataset.state = state;
    el.textContent = state === 'connected' ? 'Connected' : state === 'connecting' ? 'Connecting…' : 'Disconnected';
    $('conn-retry').hidden = state !== 'disconnected';
  }

  renderMe() {
    const me = this.store.me;
    $('me-button').replaceChildren(avatar(me), h('span', { class: 'me-name', text: me.display_name }));
    $('me-button').setAttribute('aria-label', `Your profile: ${me.display_name}`);
  }

  editProfile() { dialogs.profileDialog(this); }
  search() { openSearch(this); }
  help() { const d = $('help'); if (!d.open) d.showModal(); }
  focusComposer() { if (!$('room-view').hidden && !window.matchMedia('(max-width: 700px)').matches) this.composer.focus(); }

  switchRoom(delta, unreadOnly) {
    const ids = this.store.sortedRooms().filter((r) => !unreadOnly || r.unread_count > 0 || r.id === this.store.openRoomId).map((r) => r.id);
    if (!ids.length) return;
    const i = ids.indexOf(this.store.openRoomId);
    const next = ids[(i + delta + ids.length) % ids.length];
    if (next && next !== this.store.openRoomId) this.open(next);
  }

  toggleDrawer() {
    const open = !$('app').classList.contains('drawer-open');
    $('app').classList.toggle('drawer-open', open);
    $('scrim').hidden = !open;
    $('menu-button').setAttribute('aria-expanded', String(open));
    if (open) $('sidebar').querySelector('a, button')?.focus();
  }

  closeDrawer() {
    if (!$('app').classList.contains('drawer-open')) return false;
    $('app').classList.remove('drawer-open');
    $('scrim').hidden = true;
    $('menu-button').setAttribute('aria-expanded', 'false');
    return true;
  }

  toast(text) {
    const t = h('div', { class: 'toast', role: 'alert', text });
    document.body.append(t);
    setTimeout(() => t.remove(), 5000);
  }
}

export { openPanel };
