// Package media inspects uploaded files before they are published: it decides what a
// file really is from its bytes (Sniff; the declared type and the name's extension
// decide nothing), cleans the uploader's file name into harmless metadata
// (CleanFilename), and makes bounded, re-encoded thumbnails of images (Thumbnail),
// checking an image's declared dimensions before decoding a single pixel.
//
// It knows nothing about chat or storage: it reads files through io.ReaderAt.
package media
