package persist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config locates a bucket of S3-compatible object storage (the --s3-* flags).
type S3Config struct {
	// Endpoint is the service's base URL, "https://host[:port]" or "http://..."
	// (plain HTTP only for a service on a private network or loopback).
	Endpoint string
	// Bucket holds every blob; it is created at start when missing.
	Bucket string
	// AccessKey and SecretKey sign requests (AWS Signature V4).
	AccessKey, SecretKey string
	// Region is the bucket's region; default "us-east-1", which S3-compatible
	// services accept.
	Region string
}

// s3Blobs keeps blobs as objects of one bucket.
type s3Blobs struct {
	c      *minio.Client
	bucket string
}

// OpenS3Blobs connects to the bucket (path-style requests, which every
// S3-compatible service serves), creating it when missing, and returns Blobs over it.
func OpenS3Blobs(ctx context.Context, cfg S3Config, log *slog.Logger) (Blobs, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("persist: s3 endpoint %q: want http(s)://host[:port]", cfg.Endpoint)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("persist: s3 bucket is required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   3,
	})
	if err != nil {
		return nil, fmt.Errorf("persist: s3 client: %w", err)
	}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("persist: s3 bucket %s at %s: %w", cfg.Bucket, u.Host, err)
	}
	if !ok {
		if err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
			return nil, fmt.Errorf("persist: create s3 bucket %s: %w", cfg.Bucket, err)
		}
	}
	if log != nil {
		log.Info("persist: s3 blobs ready", "endpoint", u.Host, "bucket", cfg.Bucket)
	}
	return &s3Blobs{c: c, bucket: cfg.Bucket}, nil
}

func (b *s3Blobs) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := b.c.PutObject(ctx, b.bucket, key, r, size, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("persist: put blob %s: %w", key, err)
	}
	return nil
}

// Open stats the object (so a missing one is chat.ErrNotFound now, not at the first
// Read) and returns it; reads after a Seek are ranged GETs.
func (b *s3Blobs) Open(ctx context.Context, key string) (Blob, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	obj, err := b.c.GetObject(ctx, b.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("persist: get blob %s: %w", key, err)
	}
	st, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		if minio.ToErrorResponse(err).StatusCode == http.StatusNotFound {
			return nil, notFound("blob", key)
		}
		return nil, fmt.Errorf("persist: stat blob %s: %w", key, err)
	}
	return &s3Blob{Object: obj, size: st.Size, mod: st.LastModified}, nil
}

func (b *s3Blobs) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := b.c.RemoveObject(ctx, b.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusNotFound {
			return nil
		}
		return fmt.Errorf("persist: delete blob %s: %w", key, err)
	}
	return nil
}

type s3Blob struct {
	*minio.Object
	size int64
	mod  time.Time
}

func (b *s3Blob) Size() int64        { return b.size }
func (b *s3Blob) ModTime() time.Time { return b.mod }
