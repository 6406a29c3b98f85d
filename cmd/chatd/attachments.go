package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/chatd/chatd/persist"
	"github.com/chatd/chatd/scan"
)

// openAttachments sets up what uploads need: S3 blobs when --s3-endpoint is given,
// else a folder under --data-dir; the clamd client when --clamd is given (checked
// with a PING, but a daemon down at start is only a warning: uploads fail closed
// until it answers); a quarantine folder under --data-dir.
func openAttachments(ctx context.Context, cfg *config, st *storage, log *slog.Logger) error {
	var err error
	if cfg.S3Endpoint != "" {
		st.blobs, err = persist.OpenS3Blobs(ctx, persist.S3Config{Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket,
			AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey}, log)
	} else {
		dir := filepath.Join(cfg.DataDir, "blobs")
		st.blobs, err = persist.OpenLocalBlobs(dir)
		if cfg.PostgresURL != "" {
			log.Warn("attachments kept in a local folder: nodes will not see each other's files; give --s3-endpoint", "dir", dir)
		}
	}
	if err != nil {
		return fmt.Errorf("open attachment storage: %w", err)
	}
	st.quarantine = filepath.Join(cfg.DataDir, "quarantine")
	if err := os.MkdirAll(st.quarantine, 0o700); err != nil {
		return fmt.Errorf("quarantine folder: %w", err)
	}
	// Uploads a crash left in quarantine were never published: drop them.
	left, _ := filepath.Glob(filepath.Join(st.quarantine, "chatd-upload-*"))
	for _, f := range left {
		_ = os.Remove(f)
	}
	if cfg.Clamd == "" {
		log.Warn("no --clamd: uploads are published unscanned (scan_status unscanned)")
		return nil
	}
	if st.scanner, err = scan.New(scan.Config{Address: cfg.Clamd}); err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := st.scanner.Ping(pctx); err != nil {
		log.Warn("clamd does not answer yet; uploads are refused until it does", "clamd", cfg.Clamd, "err", err)
	} else {
		log.Info("malware scanning with clamd", "clamd", cfg.Clamd)
	}
	return nil
}
