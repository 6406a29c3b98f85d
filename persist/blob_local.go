package persist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// localBlobs keeps blobs as files under one folder (the embedded default).
type localBlobs struct{ dir string }

// OpenLocalBlobs returns Blobs kept in dir (created if needed), for the embedded
// default: a single node with nothing else installed.
func OpenLocalBlobs(dir string) (Blobs, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("persist: create blob dir: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("persist: blob dir: %w", err)
	}
	return &localBlobs{dir: abs}, nil
}

func (b *localBlobs) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(b.dir, filepath.FromSlash(key)), nil
}

// Put writes to a temporary file beside the target, syncs it and renames it into
// place, so a crash leaves either the old blob or the whole new one.
func (b *localBlobs) Put(ctx context.Context, key string, r io.Reader, size int64, _ string) error {
	p, err := b.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("persist: put blob %s: %w", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("persist: put blob %s: %w", key, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	n, err := io.Copy(f, &ctxReader{ctx: ctx, r: r})
	if err == nil && n != size {
		err = fmt.Errorf("wrote %d bytes, want %d", n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		return fmt.Errorf("persist: put blob %s: %w", key, err)
	}
	return nil
}

func (b *localBlobs) Open(_ context.Context, key string) (Blob, error) {
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound("blob", key)
	}
	if err != nil {
		return nil, fmt.Errorf("persist: open blob %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("persist: stat blob %s: %w", key, err)
	}
	return &localBlob{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

func (b *localBlobs) Delete(_ context.Context, key string) error {
	p, err := b.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("persist: delete blob %s: %w", key, err)
	}
	return nil
}

type localBlob struct {
	*os.File
	size int64
	mod  time.Time
}

func (b *localBlob) Size() int64        { return b.size }
func (b *localBlob) ModTime() time.Time { return b.mod }

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
