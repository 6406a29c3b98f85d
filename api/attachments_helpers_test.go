package api

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/scan"
)

// multipartBody builds an upload body with the file in field "file", declared as
// ctype ("" leaves the part's Content-Type out).
func multipartBody(t testing.TB, field, filename, ctype string, data []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	// RFC 2231 encoding for names with control or non-ASCII characters, as browsers do.
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": field, "filename": filename}))
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// upload posts a file declared as ctype and returns the raw answer.
func (c *client) upload(filename, ctype string, data []byte) (int, []byte) {
	c.e.t.Helper()
	body, ct := multipartBody(c.e.t, "file", filename, ctype, data)
	status, raw, _ := c.request("POST", "/attachments/upload", body, map[string]string{"Content-Type": ct})
	return status, raw
}

// mustUpload uploads and fails unless the answer is 201.
func (c *client) mustUpload(filename string, data []byte) chat.Attachment {
	c.e.t.Helper()
	status, raw := c.upload(filename, "application/octet-stream", data)
	if status != http.StatusCreated {
		c.e.t.Fatalf("upload %s: %d %s", filename, status, raw)
	}
	var a chat.Attachment
	if err := json.Unmarshal(raw, &a); err != nil {
		c.e.t.Fatal(err)
	}
	return a
}

// errorCode decodes an error envelope's code ("" when raw is not one).
func errorCode(raw []byte) chat.Code {
	var env struct {
		Error *chat.Error `json:"error"`
	}
	if json.Unmarshal(raw, &env) != nil || env.Error == nil {
		return ""
	}
	return env.Error.Code
}

// twoTone is a w x h image, red on the left half and blue on the right.
func twoTone(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{255, 0, 0, 255}
			if x >= w/2 {
				c = color.RGBA{0, 0, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func pngFile(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, twoTone(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifFile(t testing.TB) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, twoTone(8, 8), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegFile is a w x h JPEG with EXIF orientation o (none when 0).
func jpegFile(t testing.TB, w, h int, o uint16) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, twoTone(w, h), &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	jpg := b.Bytes()
	if o == 0 {
		return jpg
	}
	tiff := []byte("II\x2a\x00\x08\x00\x00\x00\x01\x00")
	entry := make([]byte, 12)
	binary.LittleEndian.PutUint16(entry[0:], 0x0112)
	binary.LittleEndian.PutUint16(entry[2:], 3)
	binary.LittleEndian.PutUint32(entry[4:], 1)
	binary.LittleEndian.PutUint16(entry[8:], o)
	payload := append(append([]byte("Exif\x00\x00"), tiff...), append(entry, 0, 0, 0, 0)...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append(append(append([]byte{}, jpg[:2]...), seg...), payload...)
	return append(out, jpg[2:]...)
}

// webpFile is a 1x1 lossless WebP.
func webpFile() []byte {
	return []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
}

func pdfFile() []byte {
	return []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
}

// docFile is an OLE2 compound file naming a WordDocument stream (enough to sniff).
func docFile() []byte {
	b := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 504)...)
	return append(b, []byte("W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t\x00")...)
}

// zipFile zips name -> body pairs.
func zipFile(t testing.TB, files ...[2]string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		w, err := zw.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngBomb is a PNG signature and header declaring w x h pixels, and no pixels.
func pngBomb(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	chunk := append([]byte("IHDR"), ihdr...)
	out := append([]byte("\x89PNG\r\n\x1a\n"), 0, 0, 0, 13)
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}

// zipBomb is a small zip that inflates past the test clamd's MaxScanSize.
func zipBomb(t testing.TB) []byte {
	zeros := string(make([]byte, 10<<20))
	var files [][2]string
	for _, n := range []string{"a", "b", "c", "d"} {
		files = append(files, [2]string{n + ".bin", zeros})
	}
	return zipFile(t, files...)
}

// scannerAt returns a clamd client for addr.
func scannerAt(t testing.TB, addr string) *scan.Client {
	c, err := scan.New(scan.Config{Address: addr, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// filesUnder lists the regular files under dir.
func filesUnder(t testing.TB, dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
