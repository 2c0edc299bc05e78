package scanner

import "math"

// Fit says how a page's pixel size matches what was asked of the device.
type Fit string

const (
	// FitAsked: the pixels are the area asked at the resolution asked.
	FitAsked Fit = ""
	// FitResolution: the pixels are the area asked at another resolution
	// (devices that offer 600 dpi in a mode but scan at 300 in it).
	FitResolution Fit = "resolution"
	// FitArea: neither the area asked nor another resolution of it; the
	// resolution asked is kept, as nothing says another.
	FitArea Fit = "area"
)

// sizeSlack is how far a page's side may be from the one asked and still
// be the area asked: 3%, the most a device's rounding and alignment were
// seen to add (an HP MFP M281 sends 2550 pixels, letter width, for an A4
// page's 2480 at 300 dpi). Resolutions a device offers are 20% or more
// apart, so a page at another resolution is never taken for one at the
// resolution asked.
const sizeSlack = 0.03

// commonResolutions are the resolutions scanners make, for a page whose
// pixels say it was made at one the device did not list.
var commonResolutions = []int{50, 75, 100, 150, 200, 240, 300, 400, 600, 1200, 2400, 4800}

// PageCheck is what a page's pixel size says of the scan the device made.
type PageCheck struct {
	Fit Fit
	// DPI is the resolution the pixels were made at: the one asked unless
	// they say another.
	DPI int
	// Width and Height are the pixels the request asks for; Height is 0
	// when the feeder decides the page's length (and MaxHeight bounds it).
	Width, Height, MaxHeight int
}

// CheckPage compares a page's pixel size with what the request asks of the
// device: the region given, or the whole area of the source. A device that
// does not say its area is taken at its word.
func (c Caps) CheckPage(r Request, width, height int) PageCheck {
	check := PageCheck{DPI: r.DPI}
	wMM, hMM := r.Region.Width, r.Region.Height
	// A feeder scans the sheet as long as it is, unless a region says how
	// much of it to keep.
	feeder := r.Source == Feeder && hMM == 0
	offered := c.Resolutions
	if in, ok := c.Input(r.Source, r.Duplex); ok {
		offered = in.Modes[r.Color]
		if wMM == 0 || hMM == 0 {
			wMM, hMM = in.MaxWidthMM-r.Region.X, in.MaxHeightMM-r.Region.Y
		}
	} else if wMM == 0 || hMM == 0 {
		wMM, hMM = c.MaxWidthMM-r.Region.X, c.MaxHeightMM-r.Region.Y
	}
	if wMM <= 0 || hMM <= 0 || r.DPI <= 0 || width <= 0 || height <= 0 {
		return check
	}
	// fits: the page is the area at the resolution, upright or, for
	// devices that turn pages upright themselves, a quarter turned.
	fits := func(dpi int, turned bool) bool {
		w, h := pixels(wMM, dpi), pixels(hMM, dpi)
		side := func(width, height int) bool {
			if !near(width, w) {
				return false
			}
			if feeder {
				return float64(height) <= float64(h)*(1+sizeSlack)+2
			}
			return near(height, h)
		}
		return side(width, height) || turned && side(height, width)
	}
	check.Width, check.Height = pixels(wMM, r.DPI), pixels(hMM, r.DPI)
	if feeder {
		check.Height, check.MaxHeight = 0, pixels(hMM, r.DPI)
	}
	if fits(r.DPI, true) {
		return check
	}
	// The resolution the page's width says (its height, if the page was
	// turned), if it is one a scanner makes and the other side agrees. A
	// feeder's page, of no set length, is not read turned: its length
	// would say almost any resolution.
	sides := []int{width, height}
	if feeder {
		sides = sides[:1]
	}
	for _, side := range sides {
		said := float64(side) * 25.4 / wMM
		for _, dpi := range append(append([]int(nil), offered...), commonResolutions...) {
			if dpi != r.DPI && math.Abs(said-float64(dpi)) <= sizeSlack*float64(dpi) && fits(dpi, !feeder) {
				check.Fit, check.DPI = FitResolution, dpi
				return check
			}
		}
	}
	check.Fit = FitArea
	return check
}

// pixels is a length in millimetres at a resolution, rounded as devices
// round it.
func pixels(mm float64, dpi int) int {
	return int(math.Round(mm * float64(dpi) / 25.4))
}

// near: within the slack, and two pixels of rounding at low resolutions.
func near(got, want int) bool {
	return math.Abs(float64(got-want)) <= sizeSlack*float64(want)+2
}
