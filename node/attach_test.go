package node

import (
	"context"
	"sync"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/persist"
)

// TestSendAttachmentRace: many sends race to carry one attachment, in several rooms
// (so in the same or in different batches); exactly one message gets it, every other
// send is refused with a validation error on attachments, and nothing else fails.
func TestSendAttachmentRace(t *testing.T) {
	eachStore(t, Config{}, func(t *testing.T, n *Node, s persist.Store) {
		ctx := context.Background()
		u := newUser(t, s)
		rooms := []chat.ID{newRoom(t, s, chat.RoomPublic, u), newRoom(t, s, chat.RoomPublic, u), newRoom(t, s, chat.RoomPublic, u)}
		id := chat.NewID()
		rec := &persist.AttachmentRecord{Attachment: chat.Attachment{ID: id, Filename: "a.pdf", Size: 1,
			MimeType: "application/pdf", CreatedAt: chat.Now(), ScanStatus: chat.ScanClean}, UploaderID: u.ID, BlobKey: "attachments/" + id.String()}
		if err := s.CreateAttachment(ctx, rec); err != nil {
			t.Fatal(err)
		}
		const senders = 12
		var wg sync.WaitGroup
		results := make([]error, senders)
		for i := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := textReq(rooms[i%len(rooms)], u, "file")
				req.Type, req.Attachments = chat.MessageFile, []chat.Attachment{rec.Attachment}
				_, _, results[i] = n.Send(ctx, req)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			if err == nil {
				ok++
				continue
			}
			if e := chat.AsError(err); e == nil || e.Code != chat.CodeValidation || e.Field != "attachments" {
				t.Fatalf("a losing send failed with %v, want validation_failed on attachments", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d sends carried the attachment, want exactly 1", ok)
		}
		// The other messages of the losing batches were committed on retry: sending
		// still works in every room.
		for _, r := range rooms {
			if _, _, err := n.Send(ctx, textReq(r, u, "after")); err != nil {
				t.Fatal(err)
			}
		}
	})
}
