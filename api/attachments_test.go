package api

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testsvc"
)

func TestUploadAllowedTypes(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		alice := e.register("up")
		tests := []struct {
			name, filename string
			data           []byte
			mime           string
			thumb          bool
		}{
			{"png", "a.png", pngFile(t, 40, 20), "image/png", true},
			{"jpeg", "a.jpg", jpegFile(t, 40, 20, 0), "image/jpeg", true},
			{"gif", "a.gif", gifFile(t), "image/gif", true},
			{"webp", "a.webp", webpFile(), "image/webp", true},
			{"pdf", "a.pdf", pdfFile(), "application/pdf", false},
			{"doc", "a.doc", docFile(), "application/msword", false},
			{"docx", "a.docx", zipFile(t, [2]string{"[Content_Types].xml", "<x/>"}, [2]string{"word/document.xml", "<w/>"}),
				"application/vnd.openxmlformats-officedocument.wordprocessingml.document", false},
			{"zip", "a.zip", zipFile(t, [2]string{"notes.txt", "hello"}), "application/zip", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := alice.mustUpload(tt.filename, tt.data)
				if a.MimeType != tt.mime || a.Size != int64(len(tt.data)) || a.Filename != tt.filename ||
					a.ScanStatus != chat.ScanUnscanned || a.URL != "/attachments/"+a.ID.String() {
					t.Fatalf("attachment %+v", a)
				}
				if (a.ThumbnailURL != "") != tt.thumb {
					t.Fatalf("thumbnail_url %q, want one: %v", a.ThumbnailURL, tt.thumb)
				}
				status, body, _ := alice.request("GET", a.URL, nil, nil)
				if status != http.StatusOK || !bytes.Equal(body, tt.data) {
					t.Fatalf("download: %d, %d bytes", status, len(body))
				}
			})
		}
	})
}

// TestUploadRefused: every bad upload is a 4xx in the envelope, and leaves nothing
// behind: no blob, no quarantine file.
func TestUploadRefused(t *testing.T) {
	e := newEnv(t, "embedded")
	alice := e.register("bad")
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00"), make([]byte, 200)...)
	tests := []struct {
		name, filename, ctype string
		data                  []byte
		status                int
		code                  chat.Code
	}{
		{"exe renamed .png", "x.png", "image/png", exe, 415, chat.CodeUnsupportedMedia},
		{"exe with x.exe.png", "x.exe.png", "image/png", exe, 415, chat.CodeUnsupportedMedia},
		{"html declared png", "x.png", "image/png", []byte("<html><script>alert(1)</script></html>"), 415, chat.CodeUnsupportedMedia},
		{"svg", "x.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 415, chat.CodeUnsupportedMedia},
		{"empty", "x.pdf", "application/pdf", nil, 415, chat.CodeUnsupportedMedia},
		{"broken png", "x.png", "image/png", append(pngBomb(10, 10), "no pixels"...), 415, chat.CodeUnsupportedMedia},
		{"png bomb", "bomb.png", "image/png", pngBomb(100_000, 100_000), 413, chat.CodeTooLarge},
		{"one byte over 10 MiB", "big.pdf", "application/pdf", append(pdfFile(), make([]byte, chat.MaxUpload+1-len(pdfFile()))...), 413, chat.CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := alice.upload(tt.filename, tt.ctype, tt.data)
			if status != tt.status || errorCode(raw) != tt.code {
				t.Fatalf("got %d %s, want %d %s", status, raw, tt.status, tt.code)
			}
			if left := filesUnder(t, e.blobDir); len(left) > 0 {
				t.Fatalf("blobs left behind: %v", left)
			}
			if left := filesUnder(t, e.api.cfg.QuarantineDir); len(left) > 0 {
				t.Fatalf("quarantine files left behind: %v", left)
			}
		})
	}
	t.Run("exactly 10 MiB", func(t *testing.T) {
		data := append(pdfFile(), make([]byte, chat.MaxUpload-len(pdfFile()))...)
		if a := alice.mustUpload("big.pdf", data); a.Size != chat.MaxUpload {
			t.Fatalf("size %d", a.Size)
		}
	})
	t.Run("not multipart", func(t *testing.T) {
		status, raw, _ := alice.request("POST", "/attachments/upload", pdfFile(), map[string]string{"Content-Type": "application/pdf"})
		if status != 415 || errorCode(raw) != chat.CodeUnsupportedMedia {
			t.Fatalf("got %d %s", status, raw)
		}
	})
	t.Run("no file field", func(t *testing.T) {
		body, ct := multipartBody(t, "other", "a.pdf", "", pdfFile())
		status, raw, _ := alice.request("POST", "/attachments/upload", body, map[string]string{"Content-Type": ct})
		if status != 400 || errorCode(raw) != chat.CodeValidation {
			t.Fatalf("got %d %s", status, raw)
		}
	})
	t.Run("declared length over the limit", func(t *testing.T) {
		status, raw, _ := alice.request("POST", "/attachments/upload", make([]byte, chat.MaxUpload+uploadOverhead+1),
			map[string]string{"Content-Type": "multipart/form-data; boundary=x"})
		if status != 413 || errorCode(raw) != chat.CodeTooLarge {
			t.Fatalf("got %d %s", status, raw)
		}
	})
	t.Run("unauthenticated", func(t *testing.T) {
		status, raw := e.anon().upload("a.pdf", "", pdfFile())
		if status != 401 || errorCode(raw) != chat.CodeUnauthorized {
			t.Fatalf("got %d %s", status, raw)
		}
	})
}

func TestUploadFilenames(t *testing.T) {
	e := newEnv(t, "embedded")
	alice := e.register("fn")
	tests := []struct{ in, want string }{
		{"../../etc/passwd", "passwd.pdf"},
		{`..\..\boot.ini`, "boot.ini.pdf"},
		{"re\u202eport\x07.pdf", "report.pdf"},
		{"x.pdf.exe", "x.pdf.exe.pdf"},
		{strings.Repeat("n", 300) + ".pdf", strings.Repeat("n", 196) + ".pdf"},
	}
	for _, tt := range tests {
		a := alice.mustUpload(tt.in, pdfFile())
		if a.Filename != tt.want {
			t.Errorf("%q stored as %q, want %q", tt.in, a.Filename, tt.want)
		}
	}
	// The name never touches the storage: keys are the server's.
	for _, f := range filesUnder(t, e.blobDir) {
		if strings.Contains(f, "passwd") || strings.Contains(f, "boot") || strings.Contains(f, "..") {
			t.Errorf("blob path %s comes from the client", f)
		}
	}
}

// TestUploadScanned runs uploads through the real clamd of the test harness.
func TestUploadScanned(t *testing.T) {
	addr := testsvc.ClamdAddress(t)
	for _, kind := range []string{"embedded", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnvWith(t, kind, func(c *Config) { c.Scanner = scannerAt(t, addr) })
			alice := e.register("scan")
			if a := alice.mustUpload("ok.png", pngFile(t, 8, 8)); a.ScanStatus != chat.ScanClean {
				t.Fatalf("scan_status %q", a.ScanStatus)
			}
			marked := append(pdfFile(), testsvc.MalwareMarker...)
			tests := []struct {
				name, filename string
				data           []byte
				status         int
				code           chat.Code
			}{
				{"eicar", "eicar.com", testsvc.EICAR(), 422, chat.CodeMalwareDetected},
				{"zipped eicar", "eicar.zip", zipFile(t, [2]string{"eicar.com", string(testsvc.EICAR())}), 422, chat.CodeMalwareDetected},
				{"marker in a pdf", "doc.pdf", marked, 422, chat.CodeMalwareDetected},
				{"zip bomb", "bomb.zip", zipBomb(t), 422, chat.CodeUnscannable},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := filesUnder(t, e.blobDir)
					status, raw := alice.upload(tt.filename, "application/zip", tt.data)
					if status != tt.status || errorCode(raw) != tt.code {
						t.Fatalf("got %d %s, want %d %s", status, raw, tt.status, tt.code)
					}
					if after := filesUnder(t, e.blobDir); len(after) != len(before) {
						t.Fatalf("a refused upload was stored: %v", after)
					}
					if left := filesUnder(t, e.api.cfg.QuarantineDir); len(left) > 0 {
						t.Fatalf("quarantine files left behind: %v", left)
					}
				})
			}
		})
	}
}

// TestUploadScannerDown: with the scanner stopped or unreachable, uploads fail
// closed with 503 and nothing is stored.
func TestUploadScannerDown(t *testing.T) {
	d := testsvc.NewClamd(t)
	e := newEnvWith(t, "embedded", func(c *Config) { c.Scanner = scannerAt(t, d.Address) })
	alice := e.register("down")
	alice.mustUpload("ok.pdf", pdfFile())
	d.Stop()
	stored := filesUnder(t, e.blobDir)
	for _, data := range [][]byte{pdfFile(), testsvc.EICAR()} {
		status, raw := alice.upload("x.pdf", "application/pdf", data)
		if status != http.StatusServiceUnavailable || errorCode(raw) != chat.CodeUnavailable {
			t.Fatalf("scanner down: got %d %s", status, raw)
		}
	}
	unreachable := newEnvWith(t, "embedded", func(c *Config) { c.Scanner = scannerAt(t, "tcp:127.0.0.1:1") })
	status, raw := unreachable.register("down").upload("x.pdf", "application/pdf", pdfFile())
	if status != http.StatusServiceUnavailable || errorCode(raw) != chat.CodeUnavailable {
		t.Fatalf("scanner unreachable: got %d %s", status, raw)
	}
	if after := filesUnder(t, e.blobDir); len(after) != len(stored) {
		t.Fatalf("stored while the scanner was down: %v", after)
	}
}

// TestAttachmentDownload: access rules (404 byte-identical to a missing one),
// headers, ranges and thumbnails.
func TestAttachmentDownload(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *testEnv) {
		e.unlimited()
		alice, bob, eve := e.register("dl"), e.register("dl"), e.register("dl")
		room := e.makeRoom(alice, chat.RoomPrivate)
		e.addMember(room, bob, chat.RoleMember)
		img := alice.mustUpload("photo.jpg", jpegFile(t, 800, 400, 6))
		doc := alice.mustUpload("report.pdf", pdfFile())

		_, missing, _ := eve.request("GET", "/attachments/"+chat.NewID().String(), nil, nil)
		notFound := func(c *client, path string) {
			t.Helper()
			status, body, _ := c.request("GET", path, nil, nil)
			if status != http.StatusNotFound || !bytes.Equal(body, missing) {
				t.Fatalf("GET %s: %d %s, want the 404 of a missing attachment %s", path, status, body, missing)
			}
		}
		// Before it is posted: the uploader only.
		for _, c := range []*client{bob, eve} {
			notFound(c, doc.URL)
			notFound(c, img.ThumbnailURL)
		}
		alice.send(room, map[string]any{"content": "files", "attachments": []string{img.ID.String(), doc.ID.String()}}, 201)
		for _, c := range []*client{alice, bob} {
			status, body, h := c.request("GET", doc.URL, nil, nil)
			if status != 200 || !bytes.Equal(body, pdfFile()) {
				t.Fatalf("member download: %d", status)
			}
			checkFileHeaders(t, h, "application/pdf", `attachment; filename=report.pdf`)
		}
		notFound(eve, doc.URL)
		notFound(eve, img.URL)
		notFound(eve, img.ThumbnailURL)
		notFound(bob, doc.URL+"/thumbnail") // not an image: no thumbnail
		status, _, h := bob.request("GET", img.URL, nil, nil)
		if status != 200 {
			t.Fatalf("image download: %d", status)
		}
		checkFileHeaders(t, h, "image/jpeg", `inline; filename=photo.jpg`)

		// Ranges.
		status, body, h := bob.request("GET", doc.URL, nil, map[string]string{"Range": "bytes=2-6"})
		if status != http.StatusPartialContent || string(body) != string(pdfFile()[2:7]) ||
			h.Get("Content-Range") != fmt.Sprintf("bytes 2-6/%d", len(pdfFile())) {
			t.Fatalf("range: %d %q %q", status, body, h.Get("Content-Range"))
		}
		status, body, _ = bob.request("GET", doc.URL, nil, map[string]string{"Range": "bytes=100000-"})
		if status != http.StatusRequestedRangeNotSatisfiable || errorCode(body) != chat.CodeRangeUnsatisfied {
			t.Fatalf("unsatisfiable range: %d %s", status, body)
		}

		// The thumbnail: bounded, upright (EXIF orientation 6 turns 800x400 into
		// 400x800), a fresh JPEG without the original's metadata.
		status, body, h = bob.request("GET", img.ThumbnailURL, nil, nil)
		if status != 200 {
			t.Fatalf("thumbnail: %d %s", status, body)
		}
		checkFileHeaders(t, h, "image/jpeg", `inline; filename=thumbnail.jpg`)
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(body))
		if err != nil || cfg.Width != 160 || cfg.Height != 320 {
			t.Fatalf("thumbnail %dx%d (%v), want 160x320", cfg.Width, cfg.Height, err)
		}
		if bytes.Contains(body, []byte("Exif")) {
			t.Fatal("thumbnail kept EXIF")
		}

		// A member removed from the room loses access.
		alice.mustJSON("DELETE", "/rooms/"+room.String()+"/members/"+bob.user.ID.String(), nil, http.StatusNoContent, nil)
		notFound(bob, doc.URL)
	})
}

func checkFileHeaders(t *testing.T, h http.Header, ct, disposition string) {
	t.Helper()
	want := map[string]string{
		"Content-Type":            ct,
		"Content-Disposition":     disposition,
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}
