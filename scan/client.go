package scan

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// ErrUnavailable is returned (wrapped) when the daemon cannot be reached, breaks the
// connection or does not answer in time: the scan did not happen.
var ErrUnavailable = errors.New("scan: clamd unavailable")

// Config says where the daemon listens and how long to wait for it.
type Config struct {
	// Address is "tcp:HOST:PORT" or "unix:/path/to/clamd.sock" (the --clamd flag).
	Address string
	// Timeout bounds one whole scan (connect, stream, verdict). Default 60 s: clamd
	// takes seconds on a large archive, but a stuck daemon must not hold an upload.
	Timeout time.Duration
	// ChunkSize is the size of each INSTREAM chunk. Default 64 KiB; it must stay below
	// clamd's StreamMaxLength.
	ChunkSize int
}

// Client talks to one clamd. Build it with New.
type Client struct {
	network, addr string
	timeout       time.Duration
	chunk         int
	dialer        net.Dialer
}

// New checks cfg and returns a client; it does not connect (see Ping).
func New(cfg Config) (*Client, error) {
	network, addr, err := ParseAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	c := &Client{network: network, addr: addr, timeout: cfg.Timeout, chunk: cfg.ChunkSize}
	if c.timeout <= 0 {
		c.timeout = 60 * time.Second
	}
	if c.chunk <= 0 {
		c.chunk = 64 << 10
	}
	return c, nil
}

// ParseAddress splits "tcp:HOST:PORT" or "unix:/path" into a network and an address
// for net.Dial.
func ParseAddress(s string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(s, "tcp:"):
		addr = strings.TrimPrefix(s, "tcp:")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", "", fmt.Errorf("scan: clamd address %q: want tcp:HOST:PORT: %w", s, err)
		}
		return "tcp", addr, nil
	case strings.HasPrefix(s, "unix:"):
		addr = strings.TrimPrefix(s, "unix:")
		if addr == "" {
			return "", "", fmt.Errorf("scan: clamd address %q: want unix:/path/to/socket", s)
		}
		return "unix", addr, nil
	}
	return "", "", fmt.Errorf("scan: clamd address %q: want tcp:HOST:PORT or unix:/path", s)
}

// String is the daemon's address, for logs.
func (c *Client) String() string { return c.network + ":" + c.addr }

// Ping checks that the daemon answers PONG.
func (c *Client) Ping(ctx context.Context) error {
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return fmt.Errorf("%w: ping: %w", ErrUnavailable, err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return err
	}
	if strings.TrimRight(reply, "\x00\n") != "PONG" {
		return fmt.Errorf("%w: ping answered %q", ErrBadReply, reply)
	}
	return nil
}

// Scan streams r to the daemon (zINSTREAM, in chunks) and returns its verdict. An
// error means no verdict: the daemon is down or slow (ErrUnavailable), or it said
// something unexpected (ErrBadReply); r's own read errors are returned as they are.
func (c *Client) Scan(ctx context.Context, r io.Reader) (Result, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	werr := c.stream(conn, r)
	var rerr *readError
	if errors.As(werr, &rerr) {
		return Result{}, rerr.err
	}
	// clamd may answer early (a size limit) and close: read its reply even after a
	// failed write.
	reply, err := readReply(conn)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
		return Result{}, errors.Join(err, werr)
	}
	return parseReply(reply)
}

// readError marks a failure to read the caller's stream (not the daemon's fault).
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }

// stream writes the INSTREAM command, r in length-prefixed chunks, and the
// zero-length terminator.
func (c *Client) stream(conn net.Conn, r io.Reader) error {
	w := bufio.NewWriterSize(conn, c.chunk+4)
	if _, err := w.WriteString("zINSTREAM\x00"); err != nil {
		return fmt.Errorf("%w: write: %w", ErrUnavailable, err)
	}
	buf := make([]byte, 4+c.chunk)
	for {
		n, err := io.ReadFull(r, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf[:4], uint32(n))
			if _, werr := w.Write(buf[:4+n]); werr != nil {
				return fmt.Errorf("%w: write: %w", ErrUnavailable, werr)
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return &readError{fmt.Errorf("scan: read input: %w", err)}
		}
	}
	if _, err := w.Write([]byte{0, 0, 0, 0}); err != nil {
		return fmt.Errorf("%w: write: %w", ErrUnavailable, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("%w: write: %w", ErrUnavailable, err)
	}
	return nil
}

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	conn, err := c.dialer.DialContext(dctx, c.network, c.addr)
	if err != nil {
		return nil, fmt.Errorf("%w: dial %s: %w", ErrUnavailable, c, err)
	}
	_ = conn.SetDeadline(deadline)
	return conn, nil
}

// maxReply bounds what is read of a reply: verdicts are short.
const maxReply = 4 << 10

// readReply reads the daemon's NUL-terminated reply (or up to EOF).
func readReply(conn net.Conn) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(conn, maxReply), 512)
	b, err := br.ReadBytes(0)
	if len(b) > 0 && (err == nil || errors.Is(err, io.EOF)) {
		return string(b), nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return "", fmt.Errorf("%w: read reply: %w", ErrUnavailable, err)
}
