package media

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"
	"testing"
)

// TwoTone is a w x h image whose left half is red and right half blue.
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

func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation inserts an EXIF APP1 segment with orientation o after the SOI.
func withOrientation(jpg []byte, o uint16) []byte {
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01")
	entry := make([]byte, 12)
	binary.BigEndian.PutUint16(entry[0:], 0x0112)
	binary.BigEndian.PutUint16(entry[2:], 3) // SHORT
	binary.BigEndian.PutUint32(entry[4:], 1)
	binary.BigEndian.PutUint16(entry[8:], o)
	payload := append(append([]byte("Exif\x00\x00"), tiff...), append(entry, 0, 0, 0, 0)...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// PNGHeader returns a PNG signature and an IHDR chunk declaring w x h, nothing more.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk := append([]byte("IHDR"), ihdr...)
	out := append([]byte("\x89PNG\r\n\x1a\n"), 0, 0, 0, 13)
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}

func zipWith(t testing.TB, names ...string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte("<x/>"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSniff(t *testing.T) {
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, twoTone(4, 4), nil); err != nil {
		t.Fatal(err)
	}
	ole := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...)
	tests := []struct {
		name    string
		in      []byte
		want    string
		wantErr error
	}{
		{"png", encodePNG(t, twoTone(4, 4)), PNG, nil},
		{"jpeg", encodeJPEG(t, twoTone(4, 4)), JPEG, nil},
		{"gif", gifBuf.Bytes(), GIF, nil},
		{"webp", []byte("RIFF\x10\x00\x00\x00WEBPVP8 "), WEBP, nil},
		{"pdf", []byte("%PDF-1.7\n"), PDF, nil},
		{"doc", append(append(ole, wordStream...), 0, 0), DOC, nil},
		{"ole2 installer", ole, "", ErrUnsupported},
		{"docx", zipWith(t, "[Content_Types].xml", "word/document.xml"), DOCX, nil},
		{"zip", zipWith(t, "a.txt"), ZIP, nil},
		{"exe", []byte("MZ\x90\x00\x03\x00\x00\x00"), "", ErrUnsupported},
		{"elf", []byte("\x7fELF\x02\x01\x01"), "", ErrUnsupported},
		{"html", []byte("<!DOCTYPE html><script>alert(1)</script>"), "", ErrUnsupported},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>`), "", ErrUnsupported},
		{"empty", nil, "", ErrUnsupported},
		{"truncated zip", []byte("PK\x03\x04garbage"), "", ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sniff(bytes.NewReader(tt.in), int64(len(tt.in)))
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Sniff = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCleanFilename(t *testing.T) {
	long := string(bytes.Repeat([]byte("é"), 300)) + ".png"
	tests := []struct{ in, mt, want string }{
		{"cat.png", PNG, "cat.png"},
		{"CAT.PNG", PNG, "CAT.PNG"},
		{"photo.jpeg", JPEG, "photo.jpeg"},
		{"x.png.exe", PNG, "x.png.exe.png"},
		{"x.exe.png", PNG, "x.exe.png"},
		{"../../etc/passwd", PDF, "passwd.pdf"},
		{`..\..\windows\system32\evil.doc`, DOC, "evil.doc"},
		{"a\x00b\r\nc\t.zip", ZIP, "abc.zip"},
		{"two  words\u00a0here.zip", ZIP, "two  words here.zip"},
		{"invoice\u202egpj.exe", PDF, "invoicegpj.exe.pdf"},
		{"...", PNG, "file.png"},
		{"", GIF, "file.gif"},
		{"  .hidden.pdf ", PDF, "hidden.pdf"},
		{"bad\xffutf8.png", PNG, "badutf8.png"},
		{long, PNG, string(bytes.Repeat([]byte("é"), MaxFilename-4)) + ".png"},
	}
	for _, tt := range tests {
		if got := CleanFilename(tt.in, tt.mt); got != tt.want {
			t.Errorf("CleanFilename(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestThumbnail(t *testing.T) {
	src := encodeJPEG(t, twoTone(800, 400))
	tests := []struct {
		name   string
		orient uint16
		w, h   int
		// where red is in the upright thumbnail: "left", "right", "top", "bottom"
		red string
	}{
		{"upright", 1, 320, 160, "left"},
		{"mirrored", 2, 320, 160, "right"},
		{"upside down", 3, 320, 160, "right"},
		{"quarter clockwise", 6, 160, 320, "top"},
		{"quarter counter-clockwise", 8, 160, 320, "bottom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := withOrientation(src, tt.orient)
			th, err := Thumbnail(bytes.NewReader(in), int64(len(in)), JPEG)
			if err != nil {
				t.Fatal(err)
			}
			img, err := jpeg.Decode(bytes.NewReader(th.Data))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
				t.Fatalf("thumbnail %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.w, tt.h)
			}
			if bytes.Contains(th.Data, []byte("Exif")) {
				t.Fatal("the thumbnail kept EXIF metadata")
			}
			w, h := tt.w, tt.h
			probe := map[string]image.Point{"left": {w / 8, h / 2}, "right": {w - w/8, h / 2}, "top": {w / 2, h / 8}, "bottom": {w / 2, h - h/8}}
			r, _, b, _ := img.At(probe[tt.red].X, probe[tt.red].Y).RGBA()
			if r < 0xc000 || b > 0x4000 {
				t.Fatalf("not red at the %s: r=%x b=%x", tt.red, r, b)
			}
		})
	}
}

func TestThumbnailSmallPNGKeepsSize(t *testing.T) {
	in := encodePNG(t, twoTone(10, 30))
	th, err := Thumbnail(bytes.NewReader(in), int64(len(in)), PNG)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(th.Data))
	if err != nil || cfg.Width != 10 || cfg.Height != 30 || th.MimeType != PNG {
		t.Fatalf("thumbnail %+v %v (%s)", cfg, err, th.MimeType)
	}
}

// TestDecompressionBombCostsNothing: a PNG header declaring 100,000 x 100,000 pixels
// (40 GB decoded) is refused from its header, allocating a few kilobytes.
func TestDecompressionBombCostsNothing(t *testing.T) {
	bomb := pngHeader(100_000, 100_000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Thumbnail(bytes.NewReader(bomb), int64(len(bomb)), PNG)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<10 {
		t.Fatalf("refusing the bomb allocated %d bytes", alloc)
	}
	for _, hdr := range [][]byte{pngHeader(MaxSide+1, 1), pngHeader(10_000, 10_000)} {
		if _, _, err := CheckImage(bytes.NewReader(hdr), int64(len(hdr)), PNG); !errors.Is(err, ErrTooLarge) {
			t.Errorf("CheckImage: %v, want ErrTooLarge", err)
		}
	}
}

func TestThumbnailBadImage(t *testing.T) {
	in := append(pngHeader(10, 10), []byte("not pixels")...)
	if _, err := Thumbnail(bytes.NewReader(in), int64(len(in)), PNG); !errors.Is(err, ErrBadImage) {
		t.Fatalf("err %v, want ErrBadImage", err)
	}
}

func FuzzCleanFilename(f *testing.F) {
	for _, s := range []string{"a.png", "../x", "a\u202eb", "\x00", "....png"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := CleanFilename(name, PNG)
		if got == "" || len([]rune(got)) > MaxFilename || bytes.ContainsAny([]byte(got), "/\\\x00\r\n") {
			t.Fatalf("CleanFilename(%q) = %q", name, got)
		}
		if got[0] == '.' || got[len(got)-4:] != ".png" && got[len(got)-4:] != ".PNG" && !bytes.HasSuffix(bytes.ToLower([]byte(got)), []byte(".png")) {
			t.Fatalf("CleanFilename(%q) = %q", name, got)
		}
	})
}
