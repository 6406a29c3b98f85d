package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Image limits, checked from the header before any pixel is decoded: a small file can
// declare a huge canvas (a decompression bomb), and decoding allocates width x height
// x 4 bytes or more.
const (
	// MaxSide is the largest width or height accepted.
	MaxSide = 16_384
	// MaxPixels is the largest width x height accepted (about 200 MB decoded).
	MaxPixels = 50_000_000
	// ThumbSide bounds a thumbnail's width and height.
	ThumbSide = 320
)

// ErrTooLarge is returned (wrapped) for an image whose declared dimensions exceed
// MaxSide or MaxPixels.
var ErrTooLarge = errors.New("media: image dimensions too large")

// ErrBadImage is returned (wrapped) for an image whose bytes do not decode.
var ErrBadImage = errors.New("media: image does not decode")

// Thumb is a re-encoded, bounded rendering of an image.
type Thumb struct {
	Data     []byte
	MimeType string
	// Width and Height are the original's, after its EXIF orientation.
	Width, Height int
}

// ThumbType is the type of the thumbnails of images of type mt: JPEG for photos,
// PNG for the rest (they may be transparent).
func ThumbType(mt string) string {
	if mt == JPEG {
		return JPEG
	}
	return PNG
}

func decodeConfig(mt string, r io.Reader) (image.Config, error) {
	switch mt {
	case JPEG:
		return jpeg.DecodeConfig(r)
	case PNG:
		return png.DecodeConfig(r)
	case GIF:
		return gif.DecodeConfig(r)
	case WEBP:
		return webp.DecodeConfig(r)
	}
	return image.Config{}, fmt.Errorf("%w: %s is not an image type", ErrUnsupported, mt)
}

func decode(mt string, r io.Reader) (image.Image, error) {
	switch mt {
	case JPEG:
		return jpeg.Decode(r)
	case PNG:
		return png.Decode(r)
	case GIF:
		return gif.Decode(r) // the first frame
	case WEBP:
		return webp.Decode(r)
	}
	return nil, fmt.Errorf("%w: %s is not an image type", ErrUnsupported, mt)
}

// CheckImage reads only the header of the image of type mt at r and returns its
// dimensions, refusing ones over the limits (ErrTooLarge) and headers that do not
// parse (ErrBadImage). It costs a few kilobytes whatever the header declares.
func CheckImage(r io.ReaderAt, size int64, mt string) (w, h int, err error) {
	cfg, err := decodeConfig(mt, io.NewSectionReader(r, 0, size))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrBadImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, fmt.Errorf("%w: %dx%d", ErrBadImage, cfg.Width, cfg.Height)
	}
	if cfg.Width > MaxSide || cfg.Height > MaxSide || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return 0, 0, fmt.Errorf("%w: %dx%d", ErrTooLarge, cfg.Width, cfg.Height)
	}
	return cfg.Width, cfg.Height, nil
}

// Thumbnail renders the image of type mt at r into at most ThumbSide x ThumbSide,
// keeping its aspect ratio and applying its EXIF orientation (JPEG). The result is a
// fresh encoding, so none of the original's metadata survives. It checks the
// dimensions first (CheckImage).
func Thumbnail(r io.ReaderAt, size int64, mt string) (*Thumb, error) {
	w, h, err := CheckImage(r, size, mt)
	if err != nil {
		return nil, err
	}
	orient := 1
	if mt == JPEG {
		orient = exifOrientation(io.NewSectionReader(r, 0, size))
	}
	src, err := decode(mt, io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadImage, err)
	}
	if orient >= 5 { // a quarter turn: the displayed image is h x w
		w, h = h, w
	}
	tw, th := fit(w, h, ThumbSide)
	// Scale into the stored orientation, then turn: scaling is the costly step and
	// the turn is exact on the small image.
	sw, sh := tw, th
	if orient >= 5 {
		sw, sh = th, tw
	}
	scaled := image.NewRGBA(image.Rect(0, 0, sw, sh))
	draw.CatmullRom.Scale(scaled, scaled.Bounds(), src, src.Bounds(), draw.Src, nil)
	out := orientImage(scaled, orient)
	var buf bytes.Buffer
	tt := ThumbType(mt)
	if tt == JPEG {
		err = jpeg.Encode(&buf, out, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(&buf, out)
	}
	if err != nil {
		return nil, fmt.Errorf("media: encode thumbnail: %w", err)
	}
	return &Thumb{Data: buf.Bytes(), MimeType: tt, Width: w, Height: h}, nil
}

// fit scales w x h down (never up) to fit in side x side, keeping the aspect ratio
// and at least one pixel each way.
func fit(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, h*side/w)
	}
	return max(1, w*side/h), side
}
