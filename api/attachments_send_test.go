package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/persist"
)

func TestSendWithAttachments(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited()
		alice, bob := e.register("att"), e.register("att")
		room := e.makeRoom(alice, chat.RoomPublic)
		other := e.makeRoom(alice, chat.RoomPublic)
		e.addMember(room, bob, chat.RoleMember)
		img1, img2 := alice.mustUpload("a.png", pngFile(t, 8, 8)), alice.mustUpload("b.gif", gifFile(t))
		doc := alice.mustUpload("c.pdf", pdfFile())
		ids := func(as ...chat.Attachment) []string {
			out := make([]string, len(as))
			for i, a := range as {
				out[i] = a.ID.String()
			}
			return out
		}

		// Images only: type image, empty content allowed, order kept, URLs filled.
		m := alice.send(room, map[string]any{"content": "", "attachments": ids(img2, img1)}, http.StatusCreated)
		if m.Type != chat.MessageImage || len(m.Attachments) != 2 || m.Attachments[0].ID != img2.ID ||
			m.Attachments[1].URL != img1.URL || m.Attachments[1].ThumbnailURL != img1.ThumbnailURL {
			t.Fatalf("image message %+v", m)
		}
		// Any non-image: type file.
		f := alice.send(room, map[string]any{"content": "the report", "attachments": ids(doc)}, http.StatusCreated)
		if f.Type != chat.MessageFile || len(f.Attachments) != 1 || f.Attachments[0].MimeType != "application/pdf" {
			t.Fatalf("file message %+v", f)
		}
		// History (both stores) loads them, in order.
		hist := bob.history(room)
		if len(hist) != 2 || len(hist[0].Attachments) != 2 || hist[0].Attachments[0].ID != img2.ID ||
			hist[0].Type != chat.MessageImage || hist[1].Attachments[0].ID != doc.ID {
			t.Fatalf("history %+v", hist)
		}

		mine := alice.mustUpload("d.pdf", pdfFile())
		bobs := bob.mustUpload("e.pdf", pdfFile())
		many := make([]chat.Attachment, chat.MaxAttachments+1)
		for i := range many {
			many[i] = mine
		}
		refused := []struct {
			name string
			body map[string]any
		}{
			{"someone else's upload", map[string]any{"content": "x", "attachments": ids(bobs)}},
			{"already on a message", map[string]any{"content": "x", "attachments": ids(doc)}},
			{"unknown id", map[string]any{"content": "x", "attachments": []string{chat.NewID().String()}}},
			{"not a uuid", map[string]any{"content": "x", "attachments": []string{"nope"}}},
			{"listed twice", map[string]any{"content": "x", "attachments": ids(mine, mine)}},
			{"too many", map[string]any{"content": "x", "attachments": ids(many...)}},
			{"blank content without attachments", map[string]any{"content": "", "attachments": []string{}}},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				status, raw, _ := alice.do("POST", "/rooms/"+room.String()+"/messages", tt.body)
				want := "attachments"
				if tt.name == "blank content without attachments" {
					want = "content"
				}
				var env errorEnvelope
				if status != http.StatusBadRequest || json.Unmarshal(raw, &env) != nil || env.Error.Field != want {
					t.Fatalf("got %d %s, want 400 on %s", status, raw, want)
				}
			})
		}
		// The refused sends attached nothing: mine is still free, in another room too.
		o := alice.send(other, map[string]any{"content": "later", "attachments": ids(mine)}, http.StatusCreated)
		if len(o.Attachments) != 1 {
			t.Fatalf("%+v", o)
		}
		// Once on a message of another room, it cannot move.
		status, raw, _ := alice.do("POST", "/rooms/"+room.String()+"/messages", map[string]any{"content": "x", "attachments": ids(mine)})
		if status != http.StatusBadRequest {
			t.Fatalf("re-attach to another room: %d %s", status, raw)
		}
	})
}

// TestWSSendWithAttachments: send_message carries attachments and its ack and event
// hold the attachment objects.
func TestWSSendWithAttachments(t *testing.T) {
	e := newEnv(t, "embedded")
	alice := e.register("wsatt")
	room := alice.newGroupRoom(chat.RoomPublic)
	a := alice.mustUpload("a.png", pngFile(t, 8, 8))
	cl, _ := alice.wsConnect(t)
	raw, err := cl.Do(ctx5(t), "send_message", map[string]any{"room_id": room.ID, "content": "", "attachments": []string{a.ID.String()}})
	if err != nil {
		t.Fatal(err)
	}
	var ack struct {
		Message chat.Message `json:"message"`
	}
	if err := json.Unmarshal(raw, &ack); err != nil || ack.Message.Type != chat.MessageImage ||
		len(ack.Message.Attachments) != 1 || ack.Message.Attachments[0].ThumbnailURL != a.ThumbnailURL {
		t.Fatalf("ack %s (%v)", raw, err)
	}
	if _, err := cl.Do(ctx5(t), "send_message", map[string]any{"room_id": room.ID, "content": "again", "attachments": []string{a.ID.String()}}); err == nil {
		t.Fatal("the same attachment was attached twice")
	}
}

func TestDeleteMessageDropsAttachments(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited()
		alice, bob := e.register("delatt"), e.register("delatt")
		room := e.makeRoom(alice, chat.RoomPublic)
		e.addMember(room, bob, chat.RoleMember)
		img := alice.mustUpload("a.png", pngFile(t, 8, 8))
		m := alice.send(room, map[string]any{"content": "pic", "attachments": []string{img.ID.String()}}, http.StatusCreated)
		if n := len(filesUnder(t, e.blobDir)); n != 2 {
			t.Fatalf("%d blobs, want the file and its thumbnail", n)
		}
		var del chat.Message
		alice.mustJSON("DELETE", "/messages/"+m.ID.String(), nil, http.StatusOK, &del)
		if !del.Deleted || len(del.Attachments) != 0 {
			t.Fatalf("deleted message %+v", del)
		}
		if h := bob.history(room); len(h) != 1 || len(h[0].Attachments) != 0 {
			t.Fatalf("history after delete %+v", h)
		}
		for _, c := range []*client{alice, bob} {
			for _, p := range []string{img.URL, img.ThumbnailURL} {
				if status, _, _ := c.request("GET", p, nil, nil); status != http.StatusNotFound {
					t.Fatalf("GET %s after delete: %d", p, status)
				}
			}
		}
		if left := filesUnder(t, e.blobDir); len(left) != 0 {
			t.Fatalf("blobs left after delete: %v", left)
		}
	})
}

// fakeS3 serves an S3-protocol server (gofakes3, in memory) on a real loopback
// listener and returns Blobs over it through the production client.
func fakeS3(t testing.TB) persist.Blobs {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	b, err := persist.OpenS3Blobs(ctx5(t), persist.S3Config{Endpoint: srv.URL, Bucket: "chatd-test",
		AccessKey: "test", SecretKey: "test-secret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAttachmentsOverS3: upload, download, ranges, thumbnails and deletion with blobs
// in S3-compatible storage.
func TestAttachmentsOverS3(t *testing.T) {
	for _, kind := range []string{"embedded", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			blobs := fakeS3(t)
			e := newEnvWith(t, kind, func(c *Config) { c.Blobs = blobs })
			e.unlimited()
			alice := e.register("s3")
			room := e.makeRoom(alice, chat.RoomPublic)
			data := jpegFile(t, 64, 32, 0)
			img := alice.mustUpload("s3.jpg", data)
			status, body, h := alice.request("GET", img.URL, nil, map[string]string{"Range": "bytes=10-19"})
			if status != http.StatusPartialContent || string(body) != string(data[10:20]) {
				t.Fatalf("ranged S3 download: %d %d bytes", status, len(body))
			}
			checkFileHeaders(t, h, "image/jpeg", "inline; filename=s3.jpg")
			if status, body, _ = alice.request("GET", img.URL, nil, nil); status != 200 || string(body) != string(data) {
				t.Fatalf("S3 download: %d", status)
			}
			if status, _, _ = alice.request("GET", img.ThumbnailURL, nil, nil); status != 200 {
				t.Fatalf("S3 thumbnail: %d", status)
			}
			m := alice.send(room, map[string]any{"content": "", "attachments": []string{img.ID.String()}}, http.StatusCreated)
			alice.mustJSON("DELETE", "/messages/"+m.ID.String(), nil, http.StatusOK, nil)
			if _, err := blobs.Open(ctx5(t), blobKey(img.ID)); err == nil {
				t.Fatal("the S3 blob survived the message's deletion")
			}
		})
	}
}

// TestUnattachedUploadsPurged: an upload no message carried within chat.UploadTTL is
// deleted with its blobs; a posted one stays.
func TestUnattachedUploadsPurged(t *testing.T) {
	e := newEnv(t, "embedded")
	e.unlimited()
	alice := e.register("purge")
	room := e.makeRoom(alice, chat.RoomPublic)
	stale, posted := alice.mustUpload("a.png", pngFile(t, 8, 8)), alice.mustUpload("b.pdf", pdfFile())
	alice.send(room, map[string]any{"content": "", "attachments": []string{posted.ID.String()}}, http.StatusCreated)
	e.now.Store(int64((chat.UploadTTL + time.Minute) / time.Millisecond))
	e.api.purgeUploads(ctx5(t))
	e.now.Store(0) // tokens live 24 h too
	if status, _, _ := alice.request("GET", stale.URL, nil, nil); status != http.StatusNotFound {
		t.Fatalf("stale upload: %d", status)
	}
	if status, _, _ := alice.request("GET", posted.URL, nil, nil); status != http.StatusOK {
		t.Fatalf("posted upload: %d", status)
	}
	if n := len(filesUnder(t, e.blobDir)); n != 1 {
		t.Fatalf("%d blobs left, want the posted file only", n)
	}
}

// TestDeleteRoomDropsAttachmentFiles: a deleted room takes its attachments' files.
func TestDeleteRoomDropsAttachmentFiles(t *testing.T) {
	e := newEnv(t, "embedded")
	e.unlimited()
	alice := e.register("delroom")
	room := e.makeRoom(alice, chat.RoomPublic)
	a := alice.mustUpload("a.png", pngFile(t, 8, 8))
	alice.send(room, map[string]any{"content": "", "attachments": []string{a.ID.String()}}, http.StatusCreated)
	alice.mustJSON("DELETE", "/rooms/"+room.String(), nil, http.StatusNoContent, nil)
	if left := filesUnder(t, e.blobDir); len(left) != 0 {
		t.Fatalf("files left after the room's deletion: %v", left)
	}
	if status, _, _ := alice.request("GET", a.URL, nil, nil); status != http.StatusNotFound {
		t.Fatalf("download after the room's deletion: %d", status)
	}
}
