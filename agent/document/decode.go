package document

import (
	"bytes"
	"fmt"
	"image"

	"github.com/autografo/autografo/scanner/jpegturbo"
)

// decodePage decodes a stored page: JPEG through libjpeg-turbo (a 300 dpi
// page in 15 ms rather than 60), anything else through the registered Go
// decoders, after checking its size from the header.
func decodePage(in Input) (image.Image, error) {
	if in.MediaType == "image/jpeg" {
		return jpegturbo.Decode(in.Data)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(in.Data))
	if err != nil {
		return nil, err
	}
	if int64(cfg.Width)*int64(cfg.Height) > jpegturbo.MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d", jpegturbo.ErrTooLarge, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(in.Data))
	return img, err
}
