package persist

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/chat"
)

// reportSelect selects reports "r" with their reporters "u".
var reportSelect = `SELECT r.id, r.room_id, r.message_id, r.reason, r.status, r.created_at, ` + userCols + `
	FROM reports r JOIN users u ON u.id = r.reporter_id`

func (s *sqlStore) scanReport(r rows, rep *chat.Report) error {
	dest := append([]any{&rep.ID, &rep.RoomID, &rep.MessageID, &rep.Reason, &rep.Status, &rep.CreatedAt}, userDest(&rep.Reporter)...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	finishUser(&rep.Reporter, s.now())
	return nil
}

// attachReportMessages sets each report's Message, left nil once it is deleted.
func (s *sqlStore) attachReportMessages(ctx context.Context, reps []chat.Report) error {
	ids := make([]chat.ID, len(reps))
	for i := range reps {
		ids[i] = reps[i].MessageID
	}
	msgs, err := s.messagesByIDs(ctx, ids, chat.NilID)
	if err != nil {
		return err
	}
	for i := range reps {
		reps[i].Message = msgs[reps[i].MessageID]
	}
	return nil
}

// CreateReport files a report about a message; Status is set to open when empty.
// chat.ErrNotFound when the message, room or reporter is unknown.
func (s *sqlStore) CreateReport(ctx context.Context, r *chat.Report) error {
	if r.Status == "" {
		r.Status = chat.ReportOpen
	}
	msgID := r.MessageID
	if msgID == chat.NilID && r.Message != nil {
		msgID = r.Message.ID
	}
	_, err := s.db.exec(ctx, `INSERT INTO reports (id, room_id, message_id, reporter_id, reason, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.ID, r.RoomID, msgID, r.Reporter.ID, r.Reason, r.Status, r.CreatedAt)
	if err != nil {
		if s.isViolation(err, foreignKeyViolation, "") {
			return notFound("message", msgID)
		}
		return fmt.Errorf("persist: create report: %w", err)
	}
	r.MessageID = msgID
	return nil
}

// ReportByID returns a report with its message (nil once deleted).
func (s *sqlStore) ReportByID(ctx context.Context, id chat.ID) (*chat.Report, error) {
	reps, err := collect(ctx, s.db, "report", s.scanReport, reportSelect+` WHERE r.id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(reps) == 0 {
		return nil, notFound("report", id)
	}
	if err := s.attachReportMessages(ctx, reps); err != nil {
		return nil, err
	}
	return &reps[0], nil
}

// Reports lists a room's reports with status (any when ""), newest first.
func (s *sqlStore) Reports(ctx context.Context, room chat.ID, status chat.ReportStatus, p Page) ([]chat.Report, string, error) {
	at, beforeID, more, err := timeIDCursor(p.Cursor, curReports)
	if err != nil {
		return nil, "", err
	}
	limit := pageLimit(p)
	q := reportSelect + ` WHERE r.room_id = $1`
	args := []any{room}
	if status != "" {
		args = append(args, status)
		q += fmt.Sprintf(` AND r.status = $%d`, len(args))
	}
	if more {
		args = append(args, at, beforeID)
		q += fmt.Sprintf(` AND (r.created_at < $%d OR (r.created_at = $%d AND r.id < $%d))`, len(args)-1, len(args)-1, len(args))
	}
	q += fmt.Sprintf(` ORDER BY r.created_at DESC, r.id DESC LIMIT $%d`, len(args)+1)
	reps, err := collect(ctx, s.db, "reports", s.scanReport, q, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	reps, next := trimPage(reps, limit, func(r *chat.Report) string {
		return cursor{K: curReports, N: int64(r.CreatedAt), I: r.ID.String()}.String()
	})
	if err := s.attachReportMessages(ctx, reps); err != nil {
		return nil, "", err
	}
	return reps, next, nil
}

// SetReportStatus changes a report's status; chat.ErrNotFound if unknown.
func (s *sqlStore) SetReportStatus(ctx context.Context, id chat.ID, status chat.ReportStatus) error {
	n, err := s.db.exec(ctx, `UPDATE reports SET status = $2 WHERE id = $1`, id, status)
	if err != nil {
		return fmt.Errorf("persist: set report status: %w", err)
	}
	if n == 0 {
		return notFound("report", id)
	}
	return nil
}
