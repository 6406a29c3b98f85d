package persist

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatd/chatd/chat"
)

// ErrAttachmentTaken is the fault CommitBatch returns (wrapped) when a message names an
// attachment that is not its sender's or that another message already carries
// (perhaps committed a moment earlier through another node): the whole call is
// refused and nothing is written. The owner answers that sender with a validation
// error and commits the others again.
var ErrAttachmentTaken = errors.New("persist: attachment is not the sender's to attach")

// AttachmentStore keeps the metadata of uploaded files; the bytes are in Blobs.
type AttachmentStore interface {
	// CreateAttachment records a scanned (or, without a scanner, unscanned) upload that
	// belongs to its uploader until a message carries it.
	CreateAttachment(ctx context.Context, a *AttachmentRecord) error
	// AttachmentByID returns an attachment or chat.ErrNotFound.
	AttachmentByID(ctx context.Context, id chat.ID) (*AttachmentRecord, error)
	// DeleteAttachment removes the record (its blobs are the caller's).
	DeleteAttachment(ctx context.Context, id chat.ID) error
	// PurgeUnattached deletes up to limit records of uploads that no message carries
	// and that were created before cutoff, and returns their IDs (for their blobs).
	PurgeUnattached(ctx context.Context, cutoff chat.Time, limit int) ([]chat.ID, error)
	// RoomAttachmentIDs lists the IDs of the attachments posted in room (whose blobs
	// go when the room does).
	RoomAttachmentIDs(ctx context.Context, room chat.ID) ([]chat.ID, error)
}

// AttachmentRecord is an attachment with what only the server sees: who uploaded it,
// where it was posted, and its blobs.
type AttachmentRecord struct {
	chat.Attachment
	UploaderID chat.ID
	// RoomID and MessageID are set, once, when a message carries the attachment.
	RoomID, MessageID *chat.ID
	// BlobKey and ThumbKey name the file and its thumbnail in Blobs ("" : none).
	BlobKey, ThumbKey string
	// Width and Height are an image's dimensions (0 otherwise).
	Width, Height int
}

const attachmentCols = `id, filename, size, mime_type, created_at, scan_status, thumb_key`

// CreateAttachment inserts a.
func (s *sqlStore) CreateAttachment(ctx context.Context, a *AttachmentRecord) error {
	_, err := s.db.exec(ctx, `INSERT INTO attachments (id, uploader_id, filename, mime_type, size, blob_key, thumb_key,
		width, height, scan_status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		a.ID, a.UploaderID, a.Filename, a.MimeType, a.Size, a.BlobKey, a.ThumbKey, a.Width, a.Height, a.ScanStatus, a.CreatedAt)
	if err != nil {
		if s.isViolation(err, foreignKeyViolation, "") {
			return notFound("user", a.UploaderID)
		}
		return fmt.Errorf("persist: create attachment: %w", err)
	}
	a.URL, a.ThumbnailURL = chat.AttachmentURLs(a.ID, a.ThumbKey != "")
	return nil
}

// AttachmentByID returns an attachment with its owner and place.
func (s *sqlStore) AttachmentByID(ctx context.Context, id chat.ID) (*AttachmentRecord, error) {
	a := &AttachmentRecord{}
	err := scanOne(s.db.queryRow(ctx, `SELECT id, filename, size, mime_type, created_at, scan_status, thumb_key,
		uploader_id, room_id, message_id, blob_key, width, height FROM attachments WHERE id = $1`, id), "attachment", id,
		&a.ID, &a.Filename, &a.Size, &a.MimeType, &a.CreatedAt, &a.ScanStatus, &a.ThumbKey,
		&a.UploaderID, &a.RoomID, &a.MessageID, &a.BlobKey, &a.Width, &a.Height)
	if err != nil {
		return nil, err
	}
	a.URL, a.ThumbnailURL = chat.AttachmentURLs(a.ID, a.ThumbKey != "")
	return a, nil
}

// DeleteAttachment removes the record.
func (s *sqlStore) DeleteAttachment(ctx context.Context, id chat.ID) error {
	if _, err := s.db.exec(ctx, `DELETE FROM attachments WHERE id = $1`, id); err != nil {
		return fmt.Errorf("persist: delete attachment %s: %w", id, err)
	}
	return nil
}

// PurgeUnattached deletes stale uploads that were never attached. A send racing with
// it loses cleanly: its commit finds the attachment gone (ErrAttachmentTaken).
func (s *sqlStore) PurgeUnattached(ctx context.Context, cutoff chat.Time, limit int) ([]chat.ID, error) {
	var ids []chat.ID
	err := s.inTx(ctx, func(q querier) error {
		var err error
		ids, err = collect(ctx, q, "purged attachments", func(r rows, id *chat.ID) error { return r.Scan(id) },
			`DELETE FROM attachments WHERE id IN (SELECT id FROM attachments
				WHERE message_id IS NULL AND room_id IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2)
			RETURNING id`, cutoff, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("persist: purge unattached: %w", err)
	}
	return ids, nil
}

// RoomAttachmentIDs lists the attachments posted in room.
func (s *sqlStore) RoomAttachmentIDs(ctx context.Context, room chat.ID) ([]chat.ID, error) {
	return collect(ctx, s.db, "room attachments", func(r rows, id *chat.ID) error { return r.Scan(id) },
		`SELECT id FROM attachments WHERE room_id = $1`, room)
}

// fillAttachments loads the attachments of the live messages among ms, in the order
// their senders listed them.
func (s *sqlStore) fillAttachments(ctx context.Context, q querier, ms []chat.Message) error {
	const chunk = 500
	index := make(map[chat.ID]int, len(ms))
	ids := make([]any, 0, len(ms))
	for i := range ms {
		if !ms[i].Deleted && ms[i].Type != chat.MessageText && ms[i].Type != chat.MessageSystem {
			index[ms[i].ID] = i
			ids = append(ids, ms[i].ID)
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := ids[:n]
		ids = ids[n:]
		rs, err := q.query(ctx, `SELECT message_id, `+attachmentCols+` FROM attachments
			WHERE message_id IN (`+placeholders(1, n)+`) ORDER BY position, id`, args...)
		if err != nil {
			return fmt.Errorf("persist: query attachments: %w", err)
		}
		for rs.Next() {
			var msg chat.ID
			var a chat.Attachment
			var thumb string
			err := rs.Scan(&msg, &a.ID, &a.Filename, &a.Size, &a.MimeType, &a.CreatedAt, &a.ScanStatus, &thumb)
			if err != nil {
				rs.Close()
				return fmt.Errorf("persist: scan attachments: %w", err)
			}
			a.URL, a.ThumbnailURL = chat.AttachmentURLs(a.ID, thumb != "")
			if i, ok := index[msg]; ok {
				ms[i].Attachments = append(ms[i].Attachments, a)
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return fmt.Errorf("persist: read attachments: %w", err)
		}
	}
	return nil
}

// bindAttachmentSQL gives an attachment to a message: only the sender's own, and only
// one that no message carries yet.
const bindAttachmentSQL = `UPDATE attachments SET room_id = $1, message_id = $2, position = $3
	WHERE id = $4 AND uploader_id = $5 AND message_id IS NULL AND room_id IS NULL`

// bindAttachments binds m's attachments through q (within the commit's transaction);
// ErrAttachmentTaken when one of them cannot be bound.
func bindAttachments(ctx context.Context, q func(ctx context.Context, sql string, args ...any) (int64, error), m *chat.Message) error {
	for i, a := range m.Attachments {
		n, err := q(ctx, bindAttachmentSQL, m.RoomID, m.ID, i, a.ID, m.Sender.ID)
		if err != nil {
			return fmt.Errorf("persist: bind attachment %s: %w", a.ID, err)
		}
		if n != 1 {
			return fmt.Errorf("persist: message %s: attachment %s: %w", m.ID, a.ID, ErrAttachmentTaken)
		}
	}
	return nil
}
