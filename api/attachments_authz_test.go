package api

import (
	"net/http"
	"testing"

	"github.com/chatd/chatd/chat"
)

// TestAttachmentPermissions is the authorization matrix of attachments: downloading a
// posted file and attaching one's own upload, per actor (owner, admin, member,
// outsider, removed, muted, blocked, unauthenticated), REST and WebSocket, in a
// public room, a private room and a DM. Downloads outside the room are 404, the
// bytes of a missing attachment's 404.
func TestAttachmentPermissions(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited()
		for _, typ := range []chat.RoomType{chat.RoomPublic, chat.RoomPrivate} {
			t.Run(string(typ), func(t *testing.T) { attachmentMatrix(t, e, typ) })
		}
		t.Run("direct", func(t *testing.T) { attachmentMatrixDM(t, e) })
	})
}

func attachmentMatrix(t *testing.T, e *testEnv, typ chat.RoomType) {
	sc := newScene(e, typ)
	removed, muted := e.register("rem"), e.register("mut")
	e.addMember(sc.room, removed, chat.RoleMember)
	e.addMember(sc.room, muted, chat.RoleMember)
	sc.owner.mustJSON("DELETE", roomPath(sc.room, "/members/"+removed.user.ID.String()), nil, http.StatusNoContent, nil)
	sc.owner.mustJSON("POST", roomPath(sc.room, "/mutes/"+muted.user.ID.String()), map[string]any{}, http.StatusOK, nil)
	posted := sc.admin.mustUpload("posted.pdf", pdfFile())
	sc.admin.send(sc.room, map[string]any{"content": "", "attachments": []string{posted.ID.String()}}, http.StatusCreated)
	_, missing, _ := sc.outsider.request("GET", "/attachments/"+chat.NewID().String(), nil, nil)

	notMember := http.StatusForbidden // a public room tells outsiders they must join
	if typ == chat.RoomPrivate {
		notMember = http.StatusNotFound
	}
	actors := []struct {
		name             string
		c                *client
		download, attach int
	}{
		{"owner", sc.owner, 200, 201},
		{"admin", sc.admin, 200, 201},
		{"member", sc.member, 200, 201},
		{"muted", muted, 200, http.StatusForbidden},
		{"outsider", sc.outsider, 404, notMember},
		{"removed", removed, 404, notMember},
		{"anonymous", sc.anon, 401, 401},
	}
	for _, a := range actors {
		t.Run(a.name, func(t *testing.T) {
			for _, p := range []string{posted.URL, posted.URL + "/thumbnail"} {
				status, body, _ := a.c.request("GET", p, nil, nil)
				want := a.download
				if p != posted.URL && want == 200 {
					want = 404 // a pdf has no thumbnail
				}
				if status != want {
					t.Fatalf("GET %s: %d, want %d", p, status, want)
				}
				if status == 404 && string(body) != string(missing) {
					t.Fatalf("GET %s: a 404 unlike a missing attachment's: %s", p, body)
				}
			}
			var own chat.Attachment
			if a.c.token != "" {
				own = a.c.mustUpload("own.pdf", pdfFile())
			} else {
				own = posted
			}
			status, raw, _ := a.c.do("POST", roomPath(sc.room, "/messages"), map[string]any{"content": "", "attachments": []string{own.ID.String()}})
			if status != a.attach {
				t.Fatalf("REST attach: %d %s, want %d", status, raw, a.attach)
			}
			if a.c.token == "" {
				return
			}
			// Over WebSocket, with a fresh upload: the same answer.
			own = a.c.mustUpload("own2.pdf", pdfFile())
			cl, _ := a.c.wsConnect(t)
			_, err := cl.Do(ctx5(t), "send_message", map[string]any{"room_id": sc.room, "content": "", "attachments": []string{own.ID.String()}})
			if (err == nil) != (a.attach == 201) {
				t.Fatalf("WebSocket attach: err %v, want success %v", err, a.attach == 201)
			}
			// Someone else's upload (the owner's, unposted) is refused to everyone.
			theirs := sc.owner.mustUpload("theirs.pdf", pdfFile())
			if a.c != sc.owner {
				status, raw, _ = a.c.do("POST", roomPath(sc.room, "/messages"), map[string]any{"content": "x", "attachments": []string{theirs.ID.String()}})
				if status != http.StatusBadRequest || errorCode(raw) != chat.CodeValidation {
					t.Fatalf("attach someone else's upload: %d %s", status, raw)
				}
			}
		})
	}
}

// attachmentMatrixDM: in a DM where one member blocked the other, the blocked one may
// still read what was posted but not attach anything.
func attachmentMatrixDM(t *testing.T, e *testEnv) {
	a, b := e.register("dma"), e.register("dmb")
	room := e.makeDM(a, b)
	posted := a.mustUpload("dm.png", pngFile(t, 8, 8))
	a.send(room, map[string]any{"content": "", "attachments": []string{posted.ID.String()}}, http.StatusCreated)
	a.mustJSON("POST", "/users/"+b.user.ID.String()+"/block", map[string]any{}, http.StatusOK, nil)
	if status, _, _ := b.request("GET", posted.ThumbnailURL, nil, nil); status != http.StatusOK {
		t.Fatalf("blocked member reading the thumbnail: %d", status)
	}
	own := b.mustUpload("b.pdf", pdfFile())
	status, raw, _ := b.do("POST", roomPath(room, "/messages"), map[string]any{"content": "", "attachments": []string{own.ID.String()}})
	if status != http.StatusForbidden || errorCode(raw) != chat.CodeBlocked {
		t.Fatalf("blocked sender attaching: %d %s", status, raw)
	}
	// The refused send left the upload free.
	if rec, err := e.store.AttachmentByID(ctx5(t), own.ID); err != nil || rec.MessageID != nil {
		t.Fatalf("after a refused send: %+v %v", rec, err)
	}
}
