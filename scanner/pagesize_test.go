package scanner

import "testing"

func TestCheckPageAgainstWhatWasAsked(t *testing.T) {
	// A device as the corpus's MFPs are: a letter-wide platen of A4
	// length (2550 x 3508 three-hundredths of an inch) and a feeder for
	// legal paper, in mm; 150, 300 and 600 dpi offered in gray.
	const letterW, a4H, legalH = 215.9, 297.01, 355.6
	modes := map[ColorMode][]int{Gray: {150, 300, 600}, Color: {150, 300}}
	mfp := Caps{MaxWidthMM: letterW, MaxHeightMM: a4H, Inputs: []Input{
		{Source: Platen, MaxWidthMM: letterW, MaxHeightMM: a4H, Modes: modes},
		{Source: Feeder, MaxWidthMM: letterW, MaxHeightMM: legalH, Modes: modes},
		{Source: Feeder, Duplex: true, MaxWidthMM: letterW, MaxHeightMM: legalH, Modes: modes},
	}}
	platen := func(dpi int) Request { return Request{Source: Platen, DPI: dpi, Color: Gray} }
	feeder := func(dpi int) Request { return Request{Source: Feeder, DPI: dpi, Color: Gray} }
	a4 := func(r Request) Request { r.Region = Region{Width: 210, Height: 297}; return r }
	for _, tc := range []struct {
		name          string
		caps          Caps
		req           Request
		width, height int
		fit           Fit
		dpi           int
	}{
		{"the whole platen at 300 dpi", mfp, platen(300), 2550, 3508, FitAsked, 300},
		{"the whole platen at 150 dpi", mfp, platen(150), 1275, 1754, FitAsked, 150},
		// HP MFP M281: A4 asked, letter's width sent; the resolution is right.
		{"A4 asked, the platen's width sent", mfp, a4(platen(300)), 2550, 3507, FitAsked, 300},
		{"A4 asked and sent", mfp, a4(platen(300)), 2480, 3508, FitAsked, 300},
		{"a width aligned down to 32 pixels", mfp, platen(300), 2528, 3508, FitAsked, 300},
		// Devices that turn each page upright themselves.
		{"the platen a quarter turned", mfp, platen(300), 3508, 2550, FitAsked, 300},
		{"a feeder sheet a quarter turned", mfp, feeder(300), 3300, 2550, FitAsked, 300},
		{"a quarter turned page at 300 of 600 asked", mfp, platen(600), 3508, 2550, FitResolution, 300},
		// A Canon iR offered 600 dpi in gray but scanned at 300 in it.
		{"600 asked, 300 made", mfp, platen(600), 2550, 3508, FitResolution, 300},
		{"300 asked, 600 made", mfp, a4(platen(300)), 4961, 7016, FitResolution, 600},
		// 200 dpi is not offered, but it is what the pixels say.
		{"300 asked, 200 made", mfp, platen(300), 1700, 2339, FitResolution, 200},
		{"a sheet shorter than the feeder's longest", mfp, feeder(300), 2550, 3300, FitAsked, 300},
		{"the feeder's longest sheet", mfp, feeder(300), 2550, 4200, FitAsked, 300},
		{"duplex from the feeder", mfp, Request{Source: Feeder, Duplex: true, DPI: 300, Color: Gray}, 2550, 3508, FitAsked, 300},
		{"a feeder page longer than the feeder takes", mfp, feeder(300), 2550, 5000, FitArea, 300},
		{"a feeder page at 150 when 300 was asked", mfp, feeder(300), 1275, 1650, FitResolution, 150},
		{"a tenth of the platen", mfp, platen(300), 255, 350, FitArea, 300},
		{"the platen's width but a third of its height", mfp, platen(300), 2550, 1169, FitArea, 300},
		// Half the width and half the height would be 150 dpi, but the
		// height is not half: a cropped page, not another resolution.
		{"half the width, the whole height", mfp, platen(300), 1275, 3508, FitArea, 300},
		{"a region on the feeder keeps its height", mfp, a4(feeder(300)), 2480, 2000, FitArea, 300},
		{"a device that does not say its area", Caps{Resolutions: []int{300}}, platen(300), 17, 4000, FitAsked, 300},
		// Caps without per-source inputs bound the area with the platen's.
		{"caps without inputs", Caps{Resolutions: []int{300, 600}, MaxWidthMM: letterW, MaxHeightMM: a4H}, platen(600), 2550, 3508, FitResolution, 300},
		{"an empty image is not judged", mfp, platen(300), 0, 0, FitAsked, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.caps.CheckPage(tc.req, tc.width, tc.height)
			if got.Fit != tc.fit || got.DPI != tc.dpi {
				t.Errorf("CheckPage(%dx%d) = %+v, want fit %q at %d dpi", tc.width, tc.height, got, tc.fit, tc.dpi)
			}
		})
	}
}

func TestCheckPageSaysWhatWasAsked(t *testing.T) {
	caps := Caps{Inputs: []Input{
		{Source: Platen, MaxWidthMM: 215.9, MaxHeightMM: 297.01, Modes: map[ColorMode][]int{Gray: {300}}},
		{Source: Feeder, MaxWidthMM: 215.9, MaxHeightMM: 355.6, Modes: map[ColorMode][]int{Gray: {300}}},
	}}
	if got := caps.CheckPage(Request{Source: Platen, DPI: 300, Color: Gray}, 10, 10); got.Width != 2550 || got.Height != 3508 || got.MaxHeight != 0 {
		t.Errorf("platen: asked %+v, want 2550x3508", got)
	}
	if got := caps.CheckPage(Request{Source: Feeder, DPI: 300, Color: Gray}, 10, 10); got.Width != 2550 || got.Height != 0 || got.MaxHeight != 4200 {
		t.Errorf("feeder: asked %+v, want 2550 wide and at most 4200 long", got)
	}
}
