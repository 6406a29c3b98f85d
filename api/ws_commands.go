package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/node"
)

// typingTTL is how long a typing indicator lasts without a refresh.
const typingTTL = 5 * time.Second

// wsCommands maps a frame type to its handler; each returns the ack's data or an error.
var wsCommands = map[string]func(c *wsClient, ctx context.Context, f *inFrame) (any, error){
	"join_room":    (*wsClient).cmdJoin,
	"leave_room":   (*wsClient).cmdLeave,
	"typing_start": (*wsClient).cmdTypingStart,
	"typing_stop":  (*wsClient).cmdTypingStop,
	"send_message": (*wsClient).cmdSend,
	"read_message": (*wsClient).cmdRead,
	"ping":         (*wsClient).cmdPing,
}

// errNoReply marks a command that answered itself (join_room acks after its replay)
// or must not answer (a send whose outcome is unknown).
var errNoReply = errors.New("api: no reply")

// parseFrame decodes a client frame's envelope: a JSON object with a known type.
// The error, if any, carries the frame's id when it could be read.
func parseFrame(raw []byte) (*inFrame, *chat.Error) {
	var f inFrame
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&f); err != nil || f.Type == "" {
		return &f, chat.Errorf(chat.CodeBadRequest, "frame must be a JSON object with a type")
	}
	if dec.More() {
		return &f, chat.Errorf(chat.CodeBadRequest, "a frame holds one JSON object")
	}
	if _, ok := wsCommands[f.Type]; !ok {
		return &f, chat.Errorf(chat.CodeBadRequest, "unknown frame type %q", truncateRunes(f.Type, 40))
	}
	return &f, nil
}

// handle decodes one client frame and answers it by id.
func (c *wsClient) handle(ctx context.Context, raw []byte) {
	f, perr := parseFrame(raw)
	if perr != nil {
		c.send(errorFrame(f.ID, perr))
		return
	}
	data, err := wsCommands[f.Type](c, ctx, f)
	if errors.Is(err, node.ErrUnknownOutcome) && f.Type != "send_message" {
		// Only a send must stay silent when its outcome is unknown (the client resends
		// with the same client_msg_id); any other command can simply be retried.
		err = chat.Errorf(chat.CodeUnavailable, "the room's owner did not answer; retry")
	}
	switch {
	case errors.Is(err, errNoReply), errors.Is(err, node.ErrUnknownOutcome):
		return
	case err != nil:
		e := chat.AsError(err)
		if e == nil {
			c.hub.s.log.Error("websocket command failed", "type", f.Type, "err", err)
			e = chat.Errorf(chat.CodeInternal, "internal server error")
		}
		c.send(errorFrame(f.ID, e))
	case f.Type == "ping":
		c.send(encodeFrame(outFrame{Type: "pong", ID: f.ID, Data: struct{}{}}))
	case len(f.ID) > 0:
		c.send(ackFrame(f.ID, data))
	}
}

// decodeData decodes a command's data strictly (unknown fields, wrong types: 400).
func decodeData(f *inFrame, dst any) error {
	if len(f.Data) == 0 {
		return chat.Errorf(chat.CodeBadRequest, "%s needs data", f.Type)
	}
	return decodeBody(f.Data, dst, false)
}

// roomRef is the data of commands that name a room.
type roomRef struct {
	RoomID   string `json:"room_id"`
	SinceSeq *int64 `json:"since_seq,omitempty"`
}

func (r *roomRef) id() (chat.ID, error) {
	if r.RoomID == "" {
		return chat.NilID, &chat.Error{Code: chat.CodeBadRequest, Field: "room_id", Message: "room_id is required"}
	}
	id, err := chat.ParseID(r.RoomID)
	if err != nil {
		return chat.NilID, chat.FieldError("room_id", "room_id must be a UUID")
	}
	return id, nil
}

func (c *wsClient) cmdJoin(ctx context.Context, f *inFrame) (any, error) {
	err := c.join(ctx, f)
	if err == errNoReply {
		c.hub.s.m.joined.Inc()
	} else {
		c.hub.s.m.refused.Inc()
	}
	return nil, err
}

// join subscribes c to a room, replaying from since_seq; its answer is the replay
// (errNoReply), or an error.
func (c *wsClient) join(ctx context.Context, f *inFrame) error {
	var in roomRef
	if err := decodeData(f, &in); err != nil {
		return err
	}
	room, err := in.id()
	if err != nil {
		return err
	}
	if in.SinceSeq != nil && *in.SinceSeq < 0 {
		return chat.FieldError("since_seq", "since_seq must be >= 0")
	}
	if err := c.hub.s.mayFollow(ctx, room, c.sess.UserID); err != nil {
		return err
	}
	c.mu.Lock()
	prev := c.rooms[room]
	c.mu.Unlock()
	if prev != nil { // re-join: replay again from since_seq, as asked
		c.hub.leaveRoom(c, room, prev)
	}
	if err := c.hub.joinRoom(ctx, c, room, in.SinceSeq, f.ID); err != nil {
		return err
	}
	c.hub.setCurrentRoom(c.sess.UserID, &room)
	return errNoReply
}

func (c *wsClient) cmdLeave(ctx context.Context, f *inFrame) (any, error) {
	var in roomRef
	if err := decodeData(f, &in); err != nil {
		return nil, err
	}
	room, err := in.id()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	fan := c.rooms[room]
	c.mu.Unlock()
	if fan != nil {
		c.hub.leaveRoom(c, room, fan)
	}
	c.hub.stopTyping(room, c.sess.UserID)
	return map[string]any{"room_id": room}, nil
}

// typingRoom checks the caller may signal typing in the room: it joined it on this
// connection, or is a member.
func (c *wsClient) typingRoom(ctx context.Context, f *inFrame) (chat.ID, error) {
	var in roomRef
	if err := decodeData(f, &in); err != nil {
		return chat.NilID, err
	}
	room, err := in.id()
	if err != nil {
		return chat.NilID, err
	}
	c.mu.Lock()
	joined := c.rooms[room] != nil
	c.mu.Unlock()
	if !joined {
		if _, _, err := c.hub.s.memberOf(ctx, room, c.sess.UserID); err != nil {
			return chat.NilID, err
		}
	}
	return room, nil
}

func (c *wsClient) cmdTypingStart(ctx context.Context, f *inFrame) (any, error) {
	room, err := c.typingRoom(ctx, f)
	if err != nil {
		return nil, err
	}
	k := typingKey{room, c.sess.UserID}
	c.hub.mu.Lock()
	_, already := c.hub.typing[k]
	c.hub.typing[k] = time.Now().Add(typingTTL)
	c.hub.mu.Unlock()
	if !already {
		c.hub.publishTyping(room, c.sess.UserID, true)
	}
	return nil, nil
}

func (c *wsClient) cmdTypingStop(ctx context.Context, f *inFrame) (any, error) {
	room, err := c.typingRoom(ctx, f)
	if err != nil {
		return nil, err
	}
	c.hub.stopTyping(room, c.sess.UserID)
	return nil, nil
}

// stopTyping ends a typing indicator if one is on.
func (h *wsHub) stopTyping(room, user chat.ID) {
	k := typingKey{room, user}
	h.mu.Lock()
	_, on := h.typing[k]
	delete(h.typing, k)
	h.mu.Unlock()
	if on {
		h.publishTyping(room, user, false)
	}
}

func (h *wsHub) publishTyping(room, user chat.ID, typing bool) {
	h.s.publish(&node.Event{Type: node.EventUserTyping, RoomID: room,
		Data: &typingEvent{RoomID: room, UserID: user, Typing: typing}})
}

// sendData is send_message's data: SendInput with the room beside it.
type sendData struct {
	RoomID string `json:"room_id"`
	SendInput
}

func (c *wsClient) cmdSend(ctx context.Context, f *inFrame) (any, error) {
	var in sendData
	if err := decodeData(f, &in); err != nil {
		return nil, err
	}
	room, err := (&roomRef{RoomID: in.RoomID}).id()
	if err != nil {
		return nil, err
	}
	msg, _, err := c.hub.s.sendMessage(ctx, c.sess, room, &in.SendInput)
	if err != nil {
		return nil, err
	}
	c.hub.stopTyping(room, c.sess.UserID)
	return map[string]any{"message": msg}, nil
}

// readData is read_message's data.
type readData struct {
	MessageID string `json:"message_id"`
}

func (c *wsClient) cmdRead(ctx context.Context, f *inFrame) (any, error) {
	var in readData
	if err := decodeData(f, &in); err != nil {
		return nil, err
	}
	if in.MessageID == "" {
		return nil, &chat.Error{Code: chat.CodeBadRequest, Field: "message_id", Message: "message_id is required"}
	}
	id, err := chat.ParseID(in.MessageID)
	if err != nil {
		return nil, chat.FieldError("message_id", "message_id must be a UUID")
	}
	msg, _, _, err := c.hub.s.messageFor(ctx, id, c.sess.UserID)
	if err != nil {
		return nil, err
	}
	// Written with the next batch of read markers (readFlushEvery), which emits
	// read_receipt if the marker moved.
	c.hub.reads.add(msg.RoomID, c.sess.UserID, readMark{msg: msg.ID, seq: msg.Seq, at: c.hub.s.cfg.Now()})
	return map[string]any{"room_id": msg.RoomID, "message_id": msg.ID}, nil
}

func (c *wsClient) cmdPing(ctx context.Context, f *inFrame) (any, error) { return nil, nil }

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
