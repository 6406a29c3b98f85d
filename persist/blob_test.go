package persist

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/chatd/chatd/chat"
)

// TestBlobs runs the same behaviours against the local folder and against S3 (the
// minio-go client talking to gofakes3 over a real loopback HTTP listener).
func TestBlobs(t *testing.T) {
	makers := map[string]func(t *testing.T) Blobs{
		"local": func(t *testing.T) Blobs {
			b, err := OpenLocalBlobs(t.TempDir())
			must(t, err)
			return b
		},
		"s3": func(t *testing.T) Blobs {
			srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
			t.Cleanup(srv.Close)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			b, err := OpenS3Blobs(ctx, S3Config{Endpoint: srv.URL, Bucket: "blobs", AccessKey: "k", SecretKey: "s"}, nil)
			must(t, err)
			return b
		},
	}
	for name, open := range makers {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			ctx := context.Background()
			data := bytes.Repeat([]byte("0123456789"), 1000)
			must(t, b.Put(ctx, "attachments/x-1", bytes.NewReader(data), int64(len(data)), "application/pdf"))
			blob, err := b.Open(ctx, "attachments/x-1")
			must(t, err)
			if blob.Size() != int64(len(data)) || blob.ModTime().IsZero() {
				t.Fatalf("size %d, modtime %v", blob.Size(), blob.ModTime())
			}
			if _, err := blob.Seek(5005, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			part := make([]byte, 10)
			if _, err := io.ReadFull(blob, part); err != nil || string(part) != "5678901234" {
				t.Fatalf("ranged read %q %v", part, err)
			}
			must(t, blob.Close())
			// Replacing, deleting (twice), and a missing blob.
			must(t, b.Put(ctx, "attachments/x-1", strings.NewReader("new"), 3, "text/plain"))
			blob, err = b.Open(ctx, "attachments/x-1")
			must(t, err)
			if got, _ := io.ReadAll(blob); string(got) != "new" {
				t.Fatalf("after replace: %q", got)
			}
			blob.Close()
			must(t, b.Delete(ctx, "attachments/x-1"))
			must(t, b.Delete(ctx, "attachments/x-1"))
			if _, err := b.Open(ctx, "attachments/x-1"); !errors.Is(err, chat.ErrNotFound) {
				t.Fatalf("open deleted: %v", err)
			}
			// A short body is refused, and leaves nothing.
			if err := b.Put(ctx, "attachments/short", strings.NewReader("abc"), 10, "text/plain"); err == nil {
				t.Fatal("a short body was stored")
			}
			if _, err := b.Open(ctx, "attachments/short"); !errors.Is(err, chat.ErrNotFound) {
				t.Fatalf("short body left a blob: %v", err)
			}
			for _, bad := range []string{"", "../etc/passwd", "/abs", "a/../b", "UPPER", "a b", "dir/"} {
				if err := b.Put(ctx, bad, strings.NewReader("x"), 1, ""); err == nil {
					t.Errorf("key %q accepted", bad)
				}
			}
		})
	}
}
