package history

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Kind is what an Event records.
type Kind string

// The kinds of Event.
const (
	// KindInvoke: a sender started a send (process, node, room, client_msg_id).
	KindInvoke Kind = "invoke"
	// KindOK: the send was acknowledged; Seq and MessageID are the ack's.
	KindOK Kind = "ok"
	// KindFail: the send got an error reply; Error says which. Not stored, ever.
	KindFail Kind = "fail"
	// KindInfo: the send's outcome is unknown (timeout, closed client).
	KindInfo Kind = "info"
	// KindDeliver: a receiver got a message of a room (message_created).
	KindDeliver Kind = "deliver"
	// KindSubscribe: a receiver joined a room asking for every message after Seq,
	// and means to stay subscribed (resuming across reconnects) until the end.
	KindSubscribe Kind = "subscribe"
	// KindUnsubscribe: a receiver stopped following a room; the checker then does
	// not expect it to have every message.
	KindUnsubscribe Kind = "unsubscribe"
	// KindFault: the test injected a fault (Fault: kill, start, stop, pause, ...).
	KindFault Kind = "fault"
	// KindOwner: an observation of a room's owner (Node) and ownership epoch.
	KindOwner Kind = "owner"
	// KindNote: anything else worth reading in the log (connects, disconnects).
	KindNote Kind = "note"
)

// Event is one entry of a History.
type Event struct {
	Index       int       `json:"i"`
	Time        time.Time `json:"time"`
	Kind        Kind      `json:"kind"`
	Process     string    `json:"process,omitempty"` // the sender or receiver
	Node        string    `json:"node,omitempty"`    // the node it went through
	Room        string    `json:"room,omitempty"`
	ClientMsgID string    `json:"client_msg_id,omitempty"`
	Seq         int64     `json:"seq,omitempty"`
	MessageID   string    `json:"message_id,omitempty"`
	Epoch       int64     `json:"epoch,omitempty"`
	Fault       string    `json:"fault,omitempty"`
	Error       string    `json:"error,omitempty"`
}

// History is a concurrency-safe, append-only log of Events.
type History struct {
	mu     sync.Mutex
	events []Event
	now    func() time.Time
}

// New returns an empty History that stamps events with the wall clock.
func New() *History { return &History{now: time.Now} }

// Append records e, stamping its Index and, when zero, its Time. It returns e as
// recorded.
func (h *History) Append(e Event) Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = h.now()
	}
	e.Index = len(h.events)
	h.events = append(h.events, e)
	return e
}

// Invoke records the start of a send.
func (h *History) Invoke(process, node, room, clientMsgID string) {
	h.Append(Event{Kind: KindInvoke, Process: process, Node: node, Room: room, ClientMsgID: clientMsgID})
}

// OK records an acknowledged send with the ack's seq and message id.
func (h *History) OK(process, node, room, clientMsgID string, seq int64, messageID string) {
	h.Append(Event{Kind: KindOK, Process: process, Node: node, Room: room, ClientMsgID: clientMsgID, Seq: seq, MessageID: messageID})
}

// Fail records a send that got an error reply.
func (h *History) Fail(process, node, room, clientMsgID, err string) {
	h.Append(Event{Kind: KindFail, Process: process, Node: node, Room: room, ClientMsgID: clientMsgID, Error: err})
}

// Info records a send whose outcome is unknown.
func (h *History) Info(process, node, room, clientMsgID, err string) {
	h.Append(Event{Kind: KindInfo, Process: process, Node: node, Room: room, ClientMsgID: clientMsgID, Error: err})
}

// Deliver records a message a receiver got.
func (h *History) Deliver(receiver, node, room string, seq int64, messageID, clientMsgID string) {
	h.Append(Event{Kind: KindDeliver, Process: receiver, Node: node, Room: room, Seq: seq, MessageID: messageID, ClientMsgID: clientMsgID})
}

// Subscribe records that a receiver follows a room from after seq on, to the end.
func (h *History) Subscribe(receiver, node, room string, afterSeq int64) {
	h.Append(Event{Kind: KindSubscribe, Process: receiver, Node: node, Room: room, Seq: afterSeq})
}

// Unsubscribe records that a receiver stopped following a room.
func (h *History) Unsubscribe(receiver, node, room string) {
	h.Append(Event{Kind: KindUnsubscribe, Process: receiver, Node: node, Room: room})
}

// Fault records a fault the test injected (or healed: "start", "resume").
func (h *History) Fault(kind, node, note string) {
	h.Append(Event{Kind: KindFault, Fault: kind, Node: node, Error: note})
}

// Owner records an observation of a room's owner and ownership epoch.
func (h *History) Owner(room, node string, epoch int64) {
	h.Append(Event{Kind: KindOwner, Room: room, Node: node, Epoch: epoch})
}

// Note records free text about a process.
func (h *History) Note(process, node, text string) {
	h.Append(Event{Kind: KindNote, Process: process, Node: node, Error: text})
}

// Events returns a copy of the events recorded so far, in order.
func (h *History) Events() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.events...)
}

// Len returns how many events were recorded.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

// WriteFile writes the history to path as JSON lines, one event a line.
func (h *History) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, e := range h.Events() {
		if err := enc.Encode(&e); err != nil {
			f.Close()
			return fmt.Errorf("history: write %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("history: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("history: write %s: %w", path, err)
	}
	return nil
}

// ReadFile reads a history written by WriteFile.
func ReadFile(path string) (*History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	h := New()
	dec := json.NewDecoder(bufio.NewReader(f))
	for dec.More() {
		var e Event
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("history: read %s: event %d: %w", path, len(h.events), err)
		}
		e.Index = len(h.events)
		h.events = append(h.events, e)
	}
	return h, nil
}
