package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/persist"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerSearch) }

// registerSearch registers message search.
func (s *Server) registerSearch() {
	s.authed("GET /search", s.handleSearch)
}

// searchResults is the answer of GET /search: one list, best match first, without
// a cursor (a search is refined, not paged).
type searchResults struct {
	Items []chat.SearchHit `json:"items"`
}

// handleSearch answers GET /search?q=&room_id=&sender_id=&from=&to=&has=&limit=:
// messages of the caller's rooms matching q (websearch syntax) and the filters.
// A room_id filter follows the room's read rules (404 for a private room the caller
// cannot see, 403 not_member for a public one not joined), like its history.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request, sess *Session) error {
	q, err := searchQueryOf(r)
	if err != nil {
		return err
	}
	if q.Room != nil {
		if _, _, err := s.memberOf(r.Context(), *q.Room, sess.UserID); err != nil {
			return err
		}
	}
	hits, err := s.store.Search(r.Context(), sess.UserID, q)
	if err != nil {
		if e := chat.AsError(err); e != nil && e.Code == chat.CodeValidation {
			return e
		}
		return fmt.Errorf("api: search: %w", err)
	}
	if hits == nil {
		hits = []chat.SearchHit{}
	}
	return writeJSON(w, http.StatusOK, searchResults{Items: hits})
}

// searchQueryOf reads and checks the query string of GET /search. q is trimmed,
// valid UTF-8 of at most persist.SearchTextMax code points; it may be empty when a
// filter is given (the store checks that, and the words of q).
func searchQueryOf(r *http.Request) (persist.SearchQuery, error) {
	v := r.URL.Query()
	var q persist.SearchQuery
	q.Text = strings.TrimSpace(v.Get("q"))
	if !utf8.ValidString(q.Text) || strings.IndexByte(q.Text, 0) >= 0 || utf8.RuneCountInString(q.Text) > persist.SearchTextMax {
		return q, chat.FieldError("q", "q must be text of at most %d characters", persist.SearchTextMax)
	}
	var err error
	if q.Room, err = optionalID(v, "room_id"); err != nil {
		return q, err
	}
	if q.Sender, err = optionalID(v, "sender_id"); err != nil {
		return q, err
	}
	if q.From, err = optionalTime(v, "from"); err != nil {
		return q, err
	}
	if q.To, err = optionalTime(v, "to"); err != nil {
		return q, err
	}
	switch has := persist.SearchHas(v.Get("has")); has {
	case "", persist.SearchHasAttachments, persist.SearchHasLinks:
		q.Has = has
	default:
		return q, chat.FieldError("has", "has must be attachments or links")
	}
	if q.From != nil && q.To != nil && *q.From >= *q.To {
		return q, chat.FieldError("to", "to must be after from")
	}
	if q.Limit, err = queryLimit(r, persist.SearchDefaultLimit); err != nil {
		return q, err
	}
	if q.Text == "" && q.Room == nil && q.Sender == nil && q.From == nil && q.To == nil && q.Has == "" {
		return q, chat.FieldError("q", "q is required unless a filter is given")
	}
	return q, nil
}

// optionalID parses a UUID query parameter; absent or empty is nil.
func optionalID(v url.Values, name string) (*chat.ID, error) {
	raw := v.Get(name)
	if raw == "" {
		return nil, nil
	}
	id, err := chat.ParseID(raw)
	if err != nil {
		return nil, chat.FieldError(name, "%s must be a UUID", name)
	}
	return &id, nil
}

// optionalTime parses an RFC 3339 query parameter (millisecond precision); absent
// or empty is nil.
func optionalTime(v url.Values, name string) (*chat.Time, error) {
	raw := v.Get(name)
	if raw == "" {
		return nil, nil
	}
	t, err := chat.ParseTime(raw)
	if err != nil {
		return nil, chat.FieldError(name, "%s must be an RFC 3339 time, like 2026-01-02T15:04:05.000Z", name)
	}
	return &t, nil
}
