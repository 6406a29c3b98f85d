package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/chatd/chatd/chat"
)

// restClient calls the REST API of the targets. Its transport bounds the sockets per
// node, since every REST socket is a file the process's budget must leave room for.
type restClient struct {
	hc      *http.Client
	targets []Target
}

func newRESTClient(targets []Target) *restClient {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		MaxConnsPerHost:     128,
		IdleConnTimeout:     30 * time.Second,
	}
	return &restClient{hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}, targets: targets}
}

func (r *restClient) close() { r.hc.CloseIdleConnections() }

// restError is a non-2xx answer: the status and the error envelope's code.
type restError struct {
	Status int
	Code   chat.Code
	Body   string
}

func (e *restError) Error() string {
	return fmt.Sprintf("status %d %s: %s", e.Status, e.Code, e.Body)
}

// call sends method path with body (JSON) as token to target ti (round-robin by the
// caller) and decodes a 2xx answer into out (when not nil).
func (r *restClient) call(ctx context.Context, ti int, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("loadtest: encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(raw)
	}
	t := r.targets[ti%len(r.targets)]
	req, err := http.NewRequestWithContext(ctx, method, t.URL+path, rd)
	if err != nil {
		return fmt.Errorf("loadtest: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return fmt.Errorf("loadtest: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("loadtest: %s %s: read: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var env struct {
			Error *chat.Error `json:"error"`
		}
		re := &restError{Status: resp.StatusCode, Body: string(raw)}
		if json.Unmarshal(raw, &env) == nil && env.Error != nil {
			re.Code = env.Error.Code
		}
		return fmt.Errorf("loadtest: %s %s: %w", method, path, re)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("loadtest: %s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// retryable says a setup call may succeed if repeated: the server is busy (argon2
// hashing is bounded), rate limited, or a connection failed.
func retryable(err error) bool {
	var re *restError
	if errors.As(err, &re) {
		return re.Status == http.StatusServiceUnavailable || re.Status == http.StatusTooManyRequests ||
			re.Status >= 500
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// callRetry is call with up to 5 attempts and backoff for retryable failures.
func (r *restClient) callRetry(ctx context.Context, ti int, method, path, token string, body, out any) error {
	var err error
	for attempt := range 5 {
		if err = r.call(ctx, ti, method, path, token, body, out); err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(200<<attempt) * time.Millisecond):
		}
	}
	return err
}

// errorKind names an error for the report's "errors by kind": the protocol code when
// there is one, else a short class.
func errorKind(err error) string {
	var re *restError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &re):
		if re.Code != "" {
			return string(re.Code)
		}
		return "http_" + strconv.Itoa(re.Status)
	case chat.AsError(err) != nil:
		return string(chat.AsError(err).Code)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "transport"
}

// expectedKinds are outcomes the server is right to give under load; they are
// reported by kind but are not failures of the system under test.
var expectedKinds = map[string]bool{
	string(chat.CodeRateLimited):    true, // the per-user send limit
	string(chat.CodeReactionExists): true, // two random picks of the same emoji
	"canceled":                      true, // the run was stopped (Ctrl-C)
}
