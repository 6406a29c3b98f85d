package media

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The MIME types an upload may have, by sniffed content.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
	GIF  = "image/gif"
	WEBP = "image/webp"
	PDF  = "application/pdf"
	DOC  = "application/msword"
	DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	ZIP  = "application/zip"
)

// Extensions maps each allowed type to the extension its downloads end with.
var Extensions = map[string]string{
	JPEG: ".jpg", PNG: ".png", GIF: ".gif", WEBP: ".webp",
	PDF: ".pdf", DOC: ".doc", DOCX: ".docx", ZIP: ".zip",
}

// IsImage reports whether mt is one of the image types that get thumbnails and are
// shown inline.
func IsImage(mt string) bool { return mt == JPEG || mt == PNG || mt == GIF || mt == WEBP }

// ErrUnsupported is returned (wrapped) for content that is none of the allowed types.
var ErrUnsupported = errors.New("media: unsupported file type")

// ErrArchiveLimits is returned (wrapped) for an archive whose own directory declares
// more than the server will let a scanner unpack (a zip bomb, cheaply caught).
var ErrArchiveLimits = errors.New("media: archive exceeds the unpacking limits")

// Archive limits checked from a zip's central directory before any scan.
const (
	maxZipEntries      = 10_000
	maxZipUncompressed = 1 << 30
)

// Sniff returns the MIME type of the size bytes at r, decided by their content alone:
// magic numbers, and for OLE2 and zip containers what is inside them.
func Sniff(r io.ReaderAt, size int64) (string, error) {
	head := make([]byte, 16)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("media: read: %w", err)
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG, nil
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, nil
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return GIF, nil
	case len(head) >= 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")):
		return WEBP, nil
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return PDF, nil
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return sniffOLE(r, size)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return sniffZip(r, size)
	}
	return "", fmt.Errorf("%w: unknown content", ErrUnsupported)
}

// wordStream is "WordDocument" in UTF-16LE, the name of the stream that makes an OLE2
// compound file a Word document (rather than an installer, a spreadsheet, ...).
var wordStream = []byte("W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t\x00")

// sniffOLE accepts an OLE2 compound file only if its directory names a WordDocument
// stream.
func sniffOLE(r io.ReaderAt, size int64) (string, error) {
	found, err := contains(r, size, wordStream)
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("%w: an OLE2 file that is not a Word document", ErrUnsupported)
	}
	return DOC, nil
}

// contains scans r for needle in overlapping windows.
func contains(r io.ReaderAt, size int64, needle []byte) (bool, error) {
	const window = 64 << 10
	buf := make([]byte, window+len(needle))
	for off := int64(0); off < size; off += window {
		n, err := r.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("media: read: %w", err)
		}
		if bytes.Contains(buf[:n], needle) {
			return true, nil
		}
	}
	return false, nil
}

// sniffZip reads a zip's central directory: a .docx when it holds the parts of a
// Word document, a plain zip otherwise. Directories declaring too much are refused
// before anything is unpacked.
func sniffZip(r io.ReaderAt, size int64) (string, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return "", fmt.Errorf("%w: a broken zip archive: %w", ErrUnsupported, err)
	}
	if len(zr.File) > maxZipEntries {
		return "", fmt.Errorf("%w: %d entries", ErrArchiveLimits, len(zr.File))
	}
	var total uint64
	var types, document bool
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if total > maxZipUncompressed {
			return "", fmt.Errorf("%w: over %d bytes uncompressed", ErrArchiveLimits, maxZipUncompressed)
		}
		switch f.Name {
		case "[Content_Types].xml":
			types = true
		case "word/document.xml":
			document = true
		}
	}
	if types && document {
		return DOCX, nil
	}
	return ZIP, nil
}
