package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/media"
	"github.com/chatd/chatd/persist"
	"github.com/chatd/chatd/scan"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerAttachments) }

// registerAttachments registers upload and download of attachments.
func (s *Server) registerAttachments() {
	s.authed("POST /attachments/upload", s.handleUpload)
	s.authed("GET /attachments/{id}", s.handleDownload)
	s.authed("GET /attachments/{id}/thumbnail", s.handleThumbnail)
}

// uploadOverhead is what a multipart body may carry besides the file itself
// (boundaries, part headers, small fields).
const uploadOverhead = 64 << 10

// uploadReadTimeout bounds how long a client may take to send an upload: 10 MiB in
// two minutes is 85 KB/s, and a slow-drip client cannot hold a connection forever.
const uploadReadTimeout = 2 * time.Minute

// handleUpload answers POST /attachments/upload (multipart/form-data, field "file")
// with 201 and the attachment. The file streams into a quarantine file, never whole
// into memory; it is published (stored in Blobs and recorded) only once it passed
// every check of checkUpload. Whatever happens, the quarantine file is removed.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, sess *Session) error {
	if s.cfg.Blobs == nil {
		return chat.Errorf(chat.CodeUnavailable, "attachments are not configured on this server")
	}
	if r.ContentLength > chat.MaxUpload+uploadOverhead {
		return errUploadTooLarge() // refused before reading a byte
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadReadTimeout))
	r.Body = http.MaxBytesReader(w, r.Body, chat.MaxUpload+uploadOverhead)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return chat.Errorf(chat.CodeUnsupportedMedia, "uploads are multipart/form-data with a field named file")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return chat.Errorf(chat.CodeBadRequest, "malformed multipart body")
	}
	f, size, name, err := s.receiveFile(mr)
	if f != nil {
		defer func() {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}()
	}
	if err != nil {
		return err
	}
	rec, err := s.publishUpload(r.Context(), sess.UserID, f, size, name)
	s.m.uploads.WithLabelValues(uploadResult(err)).Inc()
	if err != nil {
		return err
	}
	s.log.Info("attachment uploaded", "id", rec.ID, "user", sess.UserID, "mime_type", rec.MimeType,
		"size", rec.Size, "scan_status", rec.ScanStatus)
	return writeJSON(w, http.StatusCreated, rec.Attachment)
}

// uploadResult labels an upload's outcome for chatd_uploads_total.
func uploadResult(err error) string {
	switch e := chat.AsError(err); {
	case err == nil:
		return "published"
	case e == nil:
		return "error"
	case e.Code == chat.CodeMalwareDetected:
		return "malware"
	case e.Code == chat.CodeUnscannable:
		return "unscannable"
	case e.Code == chat.CodeUnavailable:
		return "unavailable"
	}
	return "refused"
}

func errUploadTooLarge() error {
	return chat.Errorf(chat.CodeTooLarge, "files are at most %d bytes (10 MiB)", chat.MaxUpload)
}

// receiveFile copies the first part named "file" into a new quarantine file (other
// parts are skipped) and returns it with its size and the name the client gave. The
// file is returned (to be removed) even with an error.
func (s *Server) receiveFile(mr *multipart.Reader) (*os.File, int64, string, error) {
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, 0, "", chat.FieldError("file", "the multipart field file is missing")
		}
		if err != nil {
			return nil, 0, "", bodyError(err)
		}
		if part.FormName() != "file" {
			_, err := io.Copy(io.Discard, part)
			_ = part.Close()
			if err != nil {
				return nil, 0, "", bodyError(err)
			}
			continue
		}
		f, err := os.CreateTemp(s.cfg.QuarantineDir, "chatd-upload-*")
		if err != nil {
			return nil, 0, "", fmt.Errorf("api: quarantine file: %w", err)
		}
		n, err := io.Copy(f, io.LimitReader(part, chat.MaxUpload+1))
		_ = part.Close()
		switch {
		case err != nil:
			return f, 0, "", bodyError(err)
		case n > chat.MaxUpload:
			return f, 0, "", errUploadTooLarge()
		}
		return f, n, part.FileName(), nil
	}
}

// bodyError maps a failure to read the request body: over the limit is 413, anything
// else a malformed (or abandoned) request.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errUploadTooLarge()
	}
	return chat.Errorf(chat.CodeBadRequest, "could not read the multipart body")
}

// publishUpload runs the checks on the quarantined file and, when it passes them,
// stores the file (and thumbnail) under server-generated keys and records it. A
// failure after a blob was stored removes it again: nothing half-published remains.
func (s *Server) publishUpload(ctx context.Context, uploader chat.ID, f *os.File, size int64, name string) (*persist.AttachmentRecord, error) {
	mt, thumb, status, err := s.checkUpload(ctx, f, size)
	if err != nil {
		return nil, err
	}
	id := chat.NewID()
	rec := &persist.AttachmentRecord{
		Attachment: chat.Attachment{ID: id, Filename: media.CleanFilename(name, mt), Size: size, MimeType: mt,
			CreatedAt: s.cfg.Now(), ScanStatus: status},
		UploaderID: uploader,
		BlobKey:    blobKey(id),
	}
	if err := s.cfg.Blobs.Put(ctx, rec.BlobKey, io.NewSectionReader(f, 0, size), size, mt); err != nil {
		return nil, s.blobsDown(err)
	}
	if thumb != nil {
		rec.ThumbKey, rec.Width, rec.Height = thumbKey(id), thumb.Width, thumb.Height
		if err := s.cfg.Blobs.Put(ctx, rec.ThumbKey, bytes.NewReader(thumb.Data), int64(len(thumb.Data)), thumb.MimeType); err != nil {
			s.dropBlobs(context.WithoutCancel(ctx), id)
			return nil, s.blobsDown(err)
		}
	}
	if err := s.store.CreateAttachment(ctx, rec); err != nil {
		s.dropBlobs(context.WithoutCancel(ctx), id)
		return nil, fmt.Errorf("api: record attachment: %w", err)
	}
	return rec, nil
}

// checkUpload decides whether a quarantined file may be published. In order: the
// scanner (if any) saw all of it and found nothing (422; 503 when it cannot answer),
// whatever its type, so that malware is reported as such; its sniffed type is
// allowed (415); an image's declared dimensions are within bounds (413) before any
// decoding; and an image decodes into a thumbnail (415 when it does not).
func (s *Server) checkUpload(ctx context.Context, f *os.File, size int64) (mt string, thumb *media.Thumb, status string, err error) {
	mt, sniffErr := media.Sniff(f, size)
	if status, err = s.scanUpload(ctx, f, size); err != nil {
		return "", nil, "", err
	}
	switch {
	case errors.Is(sniffErr, media.ErrArchiveLimits):
		return "", nil, "", chat.Errorf(chat.CodeUnscannable, "the archive declares more than can be scanned")
	case sniffErr != nil:
		return "", nil, "", chat.Errorf(chat.CodeUnsupportedMedia,
			"allowed files are jpg, png, gif, webp, pdf, doc, docx and zip (decided by content)")
	}
	if media.IsImage(mt) {
		if _, _, err := media.CheckImage(f, size, mt); err != nil {
			return "", nil, "", imageError(err)
		}
		if thumb, err = s.thumbnail(ctx, f, size, mt); err != nil {
			return "", nil, "", err
		}
	}
	return mt, thumb, status, nil
}

func imageError(err error) error {
	if errors.Is(err, media.ErrTooLarge) {
		return chat.Errorf(chat.CodeTooLarge, "images are at most %dx%d and %d pixels", media.MaxSide, media.MaxSide, media.MaxPixels)
	}
	return chat.Errorf(chat.CodeUnsupportedMedia, "the image does not decode")
}

// thumbnail renders one, with at most cap(s.decodes) decodes running at once.
func (s *Server) thumbnail(ctx context.Context, f *os.File, size int64, mt string) (*media.Thumb, error) {
	select {
	case s.decodes <- struct{}{}:
		defer func() { <-s.decodes }()
	case <-ctx.Done():
		return nil, chat.Errorf(chat.CodeUnavailable, "request cancelled")
	}
	th, err := media.Thumbnail(f, size, mt)
	if err != nil {
		return nil, imageError(err)
	}
	return th, nil
}

// scanUpload runs the malware scan and returns the scan status to record. It fails
// closed: only a Clean verdict passes.
func (s *Server) scanUpload(ctx context.Context, f *os.File, size int64) (string, error) {
	if s.cfg.Scanner == nil {
		return chat.ScanUnscanned, nil
	}
	res, err := s.cfg.Scanner.Scan(ctx, io.NewSectionReader(f, 0, size))
	if err != nil {
		s.m.scanErrors.Inc()
		s.log.Warn("malware scan failed; upload refused", "scanner", s.cfg.Scanner.String(), "err", err)
		return "", chat.Errorf(chat.CodeUnavailable, "the malware scanner is unavailable; try again later")
	}
	switch res.Verdict {
	case scan.Clean:
		return chat.ScanClean, nil
	case scan.Infected:
		s.log.Warn("malware detected; upload refused", "signature", res.Signature, "size", size)
		return "", chat.Errorf(chat.CodeMalwareDetected, "the file failed the malware scan")
	}
	s.log.Warn("upload could not be fully scanned; refused", "reason", res.Signature, "size", size)
	return "", chat.Errorf(chat.CodeUnscannable, "the file could not be fully scanned (archive or size limits)")
}

// blobKey and thumbKey are the server-generated keys of an attachment's blobs.
func blobKey(id chat.ID) string  { return "attachments/" + id.String() }
func thumbKey(id chat.ID) string { return "attachments/" + id.String() + "-thumb" }

// dropBlobs deletes an attachment's blobs, logging failures (an orphaned blob is
// unreachable: no record points at it).
func (s *Server) dropBlobs(ctx context.Context, id chat.ID) {
	for _, k := range []string{blobKey(id), thumbKey(id)} {
		if err := s.cfg.Blobs.Delete(ctx, k); err != nil {
			s.log.Warn("delete attachment blob", "key", k, "err", err)
		}
	}
}

// blobsDown reports a blob store failure as 503 (a dependency is down).
func (s *Server) blobsDown(err error) error {
	s.log.Error("blob store failed", "err", err)
	return chat.Errorf(chat.CodeUnavailable, "file storage is unavailable; try again later")
}

// purgeUploads deletes uploads that no message carried within chat.UploadTTL, with
// their blobs, a bounded number per round.
func (s *Server) purgeUploads(ctx context.Context) {
	const perRound = 10_000
	ids, err := s.store.PurgeUnattached(ctx, s.cfg.Now().Add(-chat.UploadTTL), perRound)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("purge unattached uploads", "err", err)
		}
		return
	}
	if s.cfg.Blobs != nil {
		for _, id := range ids {
			s.dropBlobs(ctx, id)
		}
	}
	if len(ids) > 0 {
		s.log.Info("purged unattached uploads", "count", len(ids))
	}
}
