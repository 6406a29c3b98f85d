package main

import (
	"strings"
	"testing"
)

// TestConfigAttachments: a production node (--postgres-url) needs a scanner unless
// told otherwise; scanner addresses and S3 flags are checked at start.
func TestConfigAttachments(t *testing.T) {
	pg := []string{"--postgres-url", "postgres://u@h/db"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"embedded without a scanner", nil, nil, ""},
		{"production without a scanner", pg, nil, "--allow-unscanned-uploads"},
		{"production, unscanned allowed", append(pg, "--allow-unscanned-uploads"), nil, ""},
		{"production, unscanned allowed by env", pg, map[string]string{"CHATD_ALLOW_UNSCANNED_UPLOADS": "true"}, ""},
		{"production with clamd over tcp", append(pg, "--clamd", "tcp:127.0.0.1:3310"), nil, ""},
		{"clamd from env, unix socket", pg, map[string]string{"CHATD_CLAMD": "unix:/run/clamav/clamd.ctl"}, ""},
		{"clamd without a scheme", []string{"--clamd", "127.0.0.1:3310"}, nil, "--clamd"},
		{"s3 without a bucket", []string{"--s3-endpoint", "http://127.0.0.1:9000"}, nil, "--s3-bucket"},
		{"s3 complete", []string{"--s3-endpoint", "http://127.0.0.1:9000", "--s3-bucket", "b"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := parseConfig(tt.args)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err %v, want one mentioning %s", err, tt.wantErr)
			}
		})
	}
}

// TestConfigPresenceHeartbeat: the heartbeat must renew entries before they expire.
func TestConfigPresenceHeartbeat(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr bool
	}{
		{nil, false},
		{[]string{"--presence-heartbeat", "2s"}, false},
		{[]string{"--presence-heartbeat", "4m59s"}, false},
		{[]string{"--presence-heartbeat", "500ms"}, true},
		{[]string{"--presence-heartbeat", "5m"}, true},
	}
	for _, tt := range tests {
		_, err := parseConfig(tt.args)
		if (err != nil) != tt.wantErr || (err != nil && !strings.Contains(err.Error(), "--presence-heartbeat")) {
			t.Errorf("parseConfig(%v): %v, want error %v", tt.args, err, tt.wantErr)
		}
	}
}
