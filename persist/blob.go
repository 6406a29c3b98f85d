package persist

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Blobs keeps opaque files (attachments and their thumbnails) under keys that the
// server generates: S3-compatible object storage in production (OpenS3Blobs), a
// local folder on the embedded default (OpenLocalBlobs). Keys are 1-200 characters
// of [a-z0-9/-], never starting with "/" nor holding "..", so that no key can name
// a path outside the store. Methods are safe for concurrent use.
type Blobs interface {
	// Put stores size bytes read from r under key, replacing any blob there. A
	// failed Put leaves no partial blob behind.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open returns the blob for reading and seeking (ranged reads: http.ServeContent
	// works on it), or an error wrapping chat.ErrNotFound. The caller closes it.
	Open(ctx context.Context, key string) (Blob, error)
	// Delete removes the blob; a missing one is not an error.
	Delete(ctx context.Context, key string) error
}

// Blob is one stored file, open for reading.
type Blob interface {
	io.ReadSeekCloser
	// Size is the blob's length in bytes.
	Size() int64
	// ModTime is when it was stored (Last-Modified).
	ModTime() time.Time
}

// maxKeyLen bounds blob keys.
const maxKeyLen = 200

// checkKey enforces the key alphabet; it is the store's guard, not the caller's.
func checkKey(key string) error {
	if key == "" || len(key) > maxKeyLen || key[0] == '/' || strings.Contains(key, "..") || strings.HasSuffix(key, "/") {
		return fmt.Errorf("persist: invalid blob key %q", key)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '/') {
			return fmt.Errorf("persist: invalid blob key %q", key)
		}
	}
	return nil
}
