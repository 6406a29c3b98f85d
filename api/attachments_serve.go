package api

import (
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/media"
	"github.com/chatd/chatd/persist"
)

// handleDownload answers GET /attachments/:id with the file (ranges allowed).
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request, sess *Session) error {
	return s.serveAttachment(w, r, sess, false)
}

// handleThumbnail answers GET /attachments/:id/thumbnail; only images have one.
func (s *Server) handleThumbnail(w http.ResponseWriter, r *http.Request, sess *Session) error {
	return s.serveAttachment(w, r, sess, true)
}

// errAttachmentNotFound is the one answer for a missing attachment and for one the
// caller may not read, byte for byte, so IDs cannot be probed.
func errAttachmentNotFound() error { return chat.Errorf(chat.CodeNotFound, "attachment not found") }

// serveAttachment streams an attachment (or its thumbnail) to a caller who may read
// it, with headers that keep a browser from running it: nosniff, a sandboxing CSP,
// and Content-Disposition attachment for everything but images.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request, sess *Session, thumb bool) error {
	if s.cfg.Blobs == nil {
		return errAttachmentNotFound()
	}
	id, err := pathID(r, "id")
	if err != nil {
		return errAttachmentNotFound()
	}
	rec, err := s.readableAttachment(r, id, sess.UserID)
	if err != nil {
		return err
	}
	key, ct := rec.BlobKey, rec.MimeType
	if thumb {
		if rec.ThumbKey == "" {
			return errAttachmentNotFound()
		}
		key, ct = rec.ThumbKey, media.ThumbType(rec.MimeType)
	}
	blob, err := s.cfg.Blobs.Open(r.Context(), key)
	if errors.Is(err, chat.ErrNotFound) {
		s.log.Error("attachment blob missing", "id", rec.ID, "key", key)
		return errAttachmentNotFound()
	}
	if err != nil {
		return s.blobsDown(err)
	}
	defer blob.Close()
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("Content-Disposition", contentDisposition(rec, thumb))
	etag := `"` + rec.ID.String() + `"`
	if thumb {
		etag = `"` + rec.ID.String() + `-thumb"`
	}
	h.Set("ETag", etag) // files never change under an ID
	ew := &errorCatcher{ResponseWriter: w}
	http.ServeContent(ew, r, "", blob.ModTime(), blob)
	return ew.err()
}

// errorCatcher keeps http.ServeContent's own error answers (plain text) from the
// client, so that they go out in the contract's envelope instead.
type errorCatcher struct {
	http.ResponseWriter
	status int // >= 400 once ServeContent failed the request
}

func (e *errorCatcher) WriteHeader(code int) {
	if code >= 400 {
		e.status = code
		return
	}
	e.ResponseWriter.WriteHeader(code)
}

func (e *errorCatcher) Write(p []byte) (int, error) {
	if e.status >= 400 {
		return len(p), nil
	}
	return e.ResponseWriter.Write(p)
}

// err is the caught failure as a protocol error, nil when none.
func (e *errorCatcher) err() error {
	switch {
	case e.status == 0:
		return nil
	case e.status == http.StatusRequestedRangeNotSatisfiable:
		return chat.Errorf(chat.CodeRangeUnsatisfied, "the range lies outside the file")
	}
	return chat.Errorf(chat.CodeBadRequest, "the request's conditions or range cannot be served")
}

// readableAttachment loads an attachment the caller may read: its uploader, or a
// member of the room where it was posted. Anything else is errAttachmentNotFound.
func (s *Server) readableAttachment(r *http.Request, id, user chat.ID) (*persist.AttachmentRecord, error) {
	rec, err := s.store.AttachmentByID(r.Context(), id)
	if errors.Is(err, chat.ErrNotFound) {
		return nil, errAttachmentNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("api: load attachment: %w", err)
	}
	if rec.UploaderID == user {
		return rec, nil
	}
	if rec.RoomID == nil || rec.MessageID == nil {
		return nil, errAttachmentNotFound()
	}
	_, err = s.store.Member(r.Context(), *rec.RoomID, user)
	if errors.Is(err, chat.ErrNotFound) {
		return nil, errAttachmentNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("api: check membership: %w", err)
	}
	return rec, nil
}

// contentDisposition shows images inline and makes everything else a download, with
// the cleaned file name (RFC 2231-encoded when it is not plain ASCII).
func contentDisposition(rec *persist.AttachmentRecord, thumb bool) string {
	disp := "attachment"
	if media.IsImage(rec.MimeType) {
		disp = "inline"
	}
	name := rec.Filename
	if thumb {
		name = "thumbnail" + media.Extensions[media.ThumbType(rec.MimeType)]
	}
	if v := mime.FormatMediaType(disp, map[string]string{"filename": name}); v != "" {
		return v
	}
	return disp
}
