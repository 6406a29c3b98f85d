package persist

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatd/chatd/chat"
)

const inviteCols = `code, room_id, created_by, created_at, expires_at, max_uses, uses, revoked`

func inviteDest(inv *chat.Invite) []any {
	return []any{&inv.Code, &inv.RoomID, &inv.CreatedBy, &inv.CreatedAt, &inv.ExpiresAt, &inv.MaxUses, &inv.Uses, &inv.Revoked}
}

// CreateInvite inserts an invite: chat.ErrConflict when the code is taken (the
// caller draws another), chat.ErrNotFound when the room or creator is unknown.
func (s *sqlStore) CreateInvite(ctx context.Context, inv *chat.Invite) error {
	_, err := s.db.exec(ctx, `INSERT INTO invites (`+inviteCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		inv.Code, inv.RoomID, inv.CreatedBy, inv.CreatedAt, inv.ExpiresAt, inv.MaxUses, inv.Uses, inv.Revoked)
	switch {
	case err == nil:
		return nil
	case s.isViolation(err, uniqueViolation, ""):
		return fmt.Errorf("persist: create invite: code taken: %w", chat.ErrConflict)
	case s.isViolation(err, foreignKeyViolation, ""):
		return notFound("room", inv.RoomID)
	}
	return fmt.Errorf("persist: create invite: %w", err)
}

func (s *sqlStore) inviteByCode(ctx context.Context, q querier, code string) (*chat.Invite, error) {
	var inv chat.Invite
	if err := scanOne(q.queryRow(ctx, `SELECT `+inviteCols+` FROM invites WHERE code = $1`, code), "invite", code, inviteDest(&inv)...); err != nil {
		return nil, err
	}
	return &inv, nil
}

// InviteByCode returns an invite (codes are case-sensitive).
func (s *sqlStore) InviteByCode(ctx context.Context, code string) (*chat.Invite, error) {
	return s.inviteByCode(ctx, s.db, code)
}

// UseInvite, in one transaction, counts a use of a valid invite (a conditional
// increment: concurrent uses can never exceed max_uses) and adds user to its room;
// when user already is a member the use is given back. chat.CodeInviteInvalid when
// the invite is expired, revoked or used up at now.
func (s *sqlStore) UseInvite(ctx context.Context, code string, user chat.ID, level chat.NotificationLevel, now chat.Time) (*chat.Invite, bool, error) {
	var inv *chat.Invite
	var added bool
	err := s.inTx(ctx, func(q querier) error {
		var room chat.ID
		err := q.queryRow(ctx, `UPDATE invites SET uses = uses + 1 WHERE code = $1 AND NOT revoked
			AND expires_at > $2 AND (max_uses IS NULL OR uses < max_uses) RETURNING room_id`, code, now).Scan(&room)
		if errors.Is(err, errNoRows) {
			if _, err := s.inviteByCode(ctx, q, code); err != nil {
				return err
			}
			return fmt.Errorf("persist: use invite: %w", chat.Errorf(chat.CodeInviteInvalid, "invite is expired, revoked or used up"))
		}
		if err != nil {
			return fmt.Errorf("persist: use invite: %w", err)
		}
		if added, err = s.addMember(ctx, q, room, user, chat.RoleMember, level, now); err != nil {
			return err
		}
		if !added {
			if _, err := q.exec(ctx, `UPDATE invites SET uses = uses - 1 WHERE code = $1`, code); err != nil {
				return fmt.Errorf("persist: use invite: %w", err)
			}
		}
		inv, err = s.inviteByCode(ctx, q, code)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return inv, added, nil
}

// RevokeInvite marks an invite revoked (idempotent; chat.ErrNotFound if unknown).
func (s *sqlStore) RevokeInvite(ctx context.Context, code string) error {
	n, err := s.db.exec(ctx, `UPDATE invites SET revoked = TRUE WHERE code = $1`, code)
	if err != nil {
		return fmt.Errorf("persist: revoke invite: %w", err)
	}
	if n == 0 {
		return notFound("invite", code)
	}
	return nil
}
