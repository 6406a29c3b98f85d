// WebSocket events to state: one handler per event type of the contract.

export function handleEvent(app, f) {
  const d = f.data || {};
  const { store } = app;
  switch (f.type) {
    case 'message_created': {
      const fresh = store.onMessage(d.message);
      app.outbox.acked(d.message);
      if (fresh) {
        app.notifications.onMessage(d.message);
        if (d.room_id === store.openRoomId) app.markReadSoon();
      }
      break;
    }
    case 'message_updated': store.onMessageUpdated(d.message); break;
    case 'message_deleted': store.onMessageDeleted(d.room_id, d.message_id); break;
    case 'reaction_added':
      store.putUser(d.user);
      store.onReaction(d.room_id, d.message_id, d.emoji, d.user?.id, true);
      break;
    case 'reaction_removed': store.onReaction(d.room_id, d.message_id, d.emoji, d.user_id, false); break;
    case 'user_typing': store.setTyping(d.room_id, d.user_id, d.typing); break;
    case 'user_joined': {
      store.putUser(d.user);
      const r = store.rooms.get(d.room_id);
      if (r && d.user?.id !== store.me.id) { r.member_count = (r.member_count || 0) + 1; app.renderHeader(); }
      break;
    }
    case 'user_left':
      if (d.user_id === store.me.id) app.roomGone(d.room_id);
      else {
        const r = store.rooms.get(d.room_id);
        if (r) { r.member_count = Math.max(0, (r.member_count || 1) - 1); app.renderHeader(); }
      }
      break;
    case 'presence_updated': store.putUser({ id: d.user_id, status: d.status }); break;
    case 'notification': {
      const n = d.notification;
      app.notifications.onEvent(n);
      if (n.room_id && !store.rooms.has(n.room_id)) app.fetchRoom(n.room_id);
      break;
    }
    case 'read_receipt': {
      const m = store.timelines.get(d.room_id)?.byId.get(d.message_id);
      if (m) store.setMarker(d.room_id, d.user_id, m.seq);
      break;
    }
    case 'room_updated':
      store.putRoom({ ...d.room, _event: true });
      app.renderHeader();
      break;
    case 'room_deleted': app.roomGone(d.room_id); break;
    default: break;
  }
}
