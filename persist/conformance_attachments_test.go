package persist

import (
	"testing"

	"github.com/chatd/chatd/chat"
)

// attachment records an upload of uploader.
func (f *fx) attachment(uploader chat.ID, mime string) chat.Attachment {
	f.t.Helper()
	id := chat.NewID()
	rec := &AttachmentRecord{
		Attachment: chat.Attachment{ID: id, Filename: "f-" + id.String()[:8], Size: 42, MimeType: mime,
			CreatedAt: f.tick(), ScanStatus: chat.ScanClean},
		UploaderID: uploader, BlobKey: "attachments/" + id.String(),
	}
	if mime == "image/png" {
		rec.ThumbKey, rec.Width, rec.Height = rec.BlobKey+"-thumb", 10, 20
	}
	must(f.t, f.s.CreateAttachment(f.ctx, rec))
	return rec.Attachment
}

func testAttachmentsCreateRead(t *testing.T, f *fx) {
	a := f.user("a")
	img := f.attachment(a.ID, "image/png")
	got, err := f.s.AttachmentByID(f.ctx, img.ID)
	must(t, err)
	if got.Attachment != img || got.UploaderID != a.ID || got.RoomID != nil || got.MessageID != nil ||
		got.Width != 10 || got.Height != 20 || got.ThumbKey == "" {
		t.Fatalf("AttachmentByID = %+v, want %+v", got, img)
	}
	if img.URL != "/attachments/"+img.ID.String() || img.ThumbnailURL != img.URL+"/thumbnail" {
		t.Fatalf("URLs %q %q", img.URL, img.ThumbnailURL)
	}
	_, err = f.s.AttachmentByID(f.ctx, chat.NewID())
	wantIs(t, err, chat.ErrNotFound)
	must(t, f.s.DeleteAttachment(f.ctx, img.ID))
	_, err = f.s.AttachmentByID(f.ctx, img.ID)
	wantIs(t, err, chat.ErrNotFound)
}

// testAttachmentsBoundInCommit: the commit binds a message's attachments in its own
// transaction, in order; reads load them; deletion drops them.
func testAttachmentsBoundInCommit(t *testing.T, f *fx) {
	a := f.user("a")
	r := f.room(a.ID, chat.RoomPublic, "r")
	x, y := f.attachment(a.ID, "image/png"), f.attachment(a.ID, "application/pdf")
	m := f.newMsg(r.ID, a.ID, "files")
	m.Type, m.Attachments = chat.MessageFile, []chat.Attachment{y, x}
	f.commit(r.ID, m)
	rec, err := f.s.AttachmentByID(f.ctx, x.ID)
	must(t, err)
	if rec.RoomID == nil || *rec.RoomID != r.ID || rec.MessageID == nil || *rec.MessageID != m.ID {
		t.Fatalf("bound attachment %+v", rec)
	}
	for _, load := range []func() []chat.Message{
		func() []chat.Message {
			got, err := f.s.MessageByID(f.ctx, m.ID, a.ID)
			must(t, err)
			return []chat.Message{*got}
		},
		func() []chat.Message {
			got, _, err := f.s.Messages(f.ctx, r.ID, a.ID, MessageQuery{Limit: 10})
			must(t, err)
			return got
		},
		func() []chat.Message { got, err := f.s.MessagesAfterSeq(f.ctx, r.ID, 0, 10); must(t, err); return got },
		func() []chat.Message { got, err := f.s.RecentMessages(f.ctx, r.ID, 10); must(t, err); return got },
	} {
		got := load()
		if len(got) != 1 || len(got[0].Attachments) != 2 || got[0].Attachments[0] != y || got[0].Attachments[1] != x {
			t.Fatalf("loaded %+v, want attachments [%+v %+v]", got, y, x)
		}
	}
	del, err := f.s.DeleteMessage(f.ctx, m.ID, a.ID)
	must(t, err)
	if len(del.Attachments) != 0 {
		t.Fatalf("deleted message still has %v", del.Attachments)
	}
	for _, id := range []chat.ID{x.ID, y.ID} {
		_, err := f.s.AttachmentByID(f.ctx, id)
		wantIs(t, err, chat.ErrNotFound)
	}
}

// testAttachmentsTakenRefused: a batch naming an attachment that is someone else's,
// or already on a message, fails whole with ErrAttachmentTaken and writes nothing.
func testAttachmentsTakenRefused(t *testing.T, f *fx) {
	a, b := f.user("a"), f.user("b")
	r1, r2 := f.room(a.ID, chat.RoomPublic, "r1"), f.room(a.ID, chat.RoomPublic, "r2")
	f.join(r1.ID, b.ID)
	used := f.attachment(a.ID, "application/pdf")
	first := f.newMsg(r1.ID, a.ID, "first")
	first.Type, first.Attachments = chat.MessageFile, []chat.Attachment{used}
	f.commit(r1.ID, first)
	bobs := f.attachment(b.ID, "application/pdf")
	for _, tc := range []struct {
		name string
		att  chat.Attachment
	}{{"already on a message", used}, {"someone else's", bobs}} {
		t.Run(tc.name, func(t *testing.T) {
			f.acquire(r2.ID)
			bad := f.newMsg(r2.ID, a.ID, "again")
			bad.Type, bad.Attachments, bad.Seq = chat.MessageFile, []chat.Attachment{tc.att}, f.seq[r2.ID]+1
			innocent := f.newMsg(r1.ID, b.ID, "innocent")
			innocent.Seq = f.seq[r1.ID] + 1
			res, err := f.s.CommitBatch(f.ctx, []RoomBatch{
				{RoomID: r1.ID, Epoch: f.epoch[r1.ID], PrevSeq: f.seq[r1.ID], Messages: []*chat.Message{innocent}},
				{RoomID: r2.ID, Epoch: f.epoch[r2.ID], PrevSeq: f.seq[r2.ID], Messages: []*chat.Message{bad}},
			})
			if err == nil || res != nil {
				t.Fatalf("CommitBatch = %v, %v; want ErrAttachmentTaken", res, err)
			}
			wantIs(t, err, ErrAttachmentTaken)
			for _, id := range []chat.ID{bad.ID, innocent.ID} {
				_, err := f.s.MessageByID(f.ctx, id, a.ID)
				wantIs(t, err, chat.ErrNotFound)
			}
			rec, err := f.s.AttachmentByID(f.ctx, tc.att.ID)
			must(t, err)
			if tc.att == bobs && rec.MessageID != nil {
				t.Fatal("someone else's attachment was bound")
			}
			if tc.att == used && *rec.MessageID != first.ID {
				t.Fatal("the attachment moved to another message")
			}
		})
	}
}

// testAttachmentsPurgeUnattached: only uploads older than the cutoff that no message
// carries are purged.
func testAttachmentsPurgeUnattached(t *testing.T, f *fx) {
	a := f.user("a")
	r := f.room(a.ID, chat.RoomPublic, "r")
	old, posted := f.attachment(a.ID, "application/pdf"), f.attachment(a.ID, "application/pdf")
	m := f.newMsg(r.ID, a.ID, "posted")
	m.Type, m.Attachments = chat.MessageFile, []chat.Attachment{posted}
	f.commit(r.ID, m)
	cutoff := f.tick()
	fresh := f.attachment(a.ID, "application/pdf")
	ids, err := f.s.PurgeUnattached(f.ctx, cutoff, 100)
	must(t, err)
	if len(ids) != 1 || ids[0] != old.ID {
		t.Fatalf("purged %v, want [%s]", ids, old.ID)
	}
	for _, id := range []chat.ID{posted.ID, fresh.ID} {
		_, err := f.s.AttachmentByID(f.ctx, id)
		must(t, err)
	}
	_, err = f.s.AttachmentByID(f.ctx, old.ID)
	wantIs(t, err, chat.ErrNotFound)
}
