package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatd/chatd/chat"
)

// writeJSON writes v with status; encoding happens before the header is written, so a
// value that cannot be encoded becomes a 500, never a half-written body.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("api: encode response: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// errorEnvelope is the contract's error body.
type errorEnvelope struct {
	Error *chat.Error `json:"error"`
}

// writeError renders err in the envelope. Protocol errors keep their code; anything
// else is a server fault: logged with the request, answered 500 without details.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := chat.AsError(err)
	if e == nil {
		s.reqLog(r).Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = chat.Errorf(chat.CodeInternal, "internal server error")
	}
	status := e.Code.Status()
	if e.RetryAfterMs > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt((e.RetryAfterMs+999)/1000, 10))
	}
	if status >= 500 && e.Code != chat.CodeInternal {
		s.reqLog(r).Warn("request unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	_ = writeJSON(w, status, errorEnvelope{Error: e})
}

// decodeJSON reads one JSON object of at most chat.MaxBody bytes into dst, refusing
// unknown fields, wrong types and trailing data. An empty body decodes as {} when
// emptyOK (POSTs that take no fields).
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, emptyOK bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, chat.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return chat.Errorf(chat.CodeTooLarge, "request body over %d bytes", chat.MaxBody)
		}
		return chat.Errorf(chat.CodeBadRequest, "could not read request body")
	}
	return decodeBody(body, dst, emptyOK)
}

// decodeBody is decodeJSON without the HTTP plumbing (the fuzz target).
func decodeBody(body []byte, dst any, emptyOK bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		if emptyOK {
			return nil
		}
		return chat.Errorf(chat.CodeBadRequest, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return chat.Errorf(chat.CodeBadRequest, "request body must hold one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return chat.Errorf(chat.CodeBadRequest, "request body must hold one JSON object")
	}
	return nil
}

// jsonError turns a decoder error into a client error that names the field.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		return &chat.Error{Code: chat.CodeBadRequest, Field: field,
			Message: fmt.Sprintf("%s must be %s", orBody(field), typeName(typeErr.Type.Kind().String()))}
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return chat.Errorf(chat.CodeBadRequest, "malformed JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &chat.Error{Code: chat.CodeBadRequest, Field: name, Message: fmt.Sprintf("unknown field %q", name)}
	}
	var ce *chat.Error
	if errors.As(err, &ce) {
		return &chat.Error{Code: chat.CodeBadRequest, Field: ce.Field, Message: ce.Message}
	}
	return chat.Errorf(chat.CodeBadRequest, "malformed JSON")
}

func orBody(field string) string {
	if field == "" {
		return "request body"
	}
	return field
}

func typeName(kind string) string {
	switch kind {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "ptr":
		return "a value of another type"
	}
	return "a number"
}

// pathID parses the path parameter name as an ID; a malformed one is a 400.
func pathID(r *http.Request, name string) (chat.ID, error) {
	id, err := chat.ParseID(r.PathValue(name))
	if err != nil {
		return chat.NilID, &chat.Error{Code: chat.CodeValidation, Field: name, Message: fmt.Sprintf("%s must be a UUID", name)}
	}
	return id, nil
}

// queryLimit parses ?limit= (default def, 1..chat.PageMax).
func queryLimit(r *http.Request, def int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > chat.PageMax {
		return 0, chat.FieldError("limit", "limit must be an integer 1-%d", chat.PageMax)
	}
	return n, nil
}

// list is the envelope of cursor-paginated lists; next_cursor is absent on the last page.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func newList[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items, NextCursor: next}
}
