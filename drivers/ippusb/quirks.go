package ippusb

import (
	"fmt"
	"strconv"
	"strings"
)

// Quirks are what some models need, from the public IPP-over-USB
// implementations (OpenPrinting's ipp-usb), keyed by product name as they
// are there. An office can add its own with --usb-quirk.
type Quirks struct {
	// MaxInterfaces caps the interfaces used: eSCL hangs on some models
	// when a second interface is used at the same time.
	MaxInterfaces int
	// HardReset resets the device (a USB port reset) before use: it comes
	// up unable to answer otherwise.
	HardReset bool
	// SoftReset sends the printer class's soft reset before use. It helps
	// some devices and breaks others, so it is never the default.
	SoftReset bool
}

// QuirkRule applies quirks to the devices whose "Manufacturer Product" or
// product string starts with Product, case-insensitively.
type QuirkRule struct {
	Product string
	Quirks  Quirks
}

var builtinQuirks = []QuirkRule{
	{"HP ScanJet Pro 4500 fn1", Quirks{MaxInterfaces: 1}},
	{"Brother QL-810W", Quirks{MaxInterfaces: 1}},
	{"Xerox B205", Quirks{HardReset: true}},
	{"Xerox B210", Quirks{HardReset: true}},
	{"Xerox B215", Quirks{HardReset: true}},
}

// quirksFor finds the first rule for the device, the office's own first.
func quirksFor(extra []QuirkRule, manufacturer, product string) Quirks {
	names := []string{strings.ToLower(product), strings.ToLower(manufacturer + " " + product)}
	for _, rules := range [][]QuirkRule{extra, builtinQuirks} {
		for _, r := range rules {
			p := strings.ToLower(r.Product)
			for _, n := range names {
				if p != "" && strings.HasPrefix(n, p) {
					return r.Quirks
				}
			}
		}
	}
	return Quirks{}
}

// ParseQuirkRule reads "PRODUCT=QUIRK,QUIRK" where a quirk is
// interfaces=N, hard-reset or soft-reset.
func ParseQuirkRule(s string) (QuirkRule, error) {
	product, list, ok := strings.Cut(s, "=")
	product = strings.TrimSpace(product)
	if !ok || product == "" {
		return QuirkRule{}, fmt.Errorf("ippusb: quirk %q: want PRODUCT=QUIRK[,QUIRK]", s)
	}
	r := QuirkRule{Product: product}
	for _, q := range strings.Split(list, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(q), "=")
		switch k {
		case "interfaces":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return QuirkRule{}, fmt.Errorf("ippusb: quirk %q: interfaces wants a number from 1", s)
			}
			r.Quirks.MaxInterfaces = n
		case "hard-reset":
			r.Quirks.HardReset = true
		case "soft-reset":
			r.Quirks.SoftReset = true
		default:
			return QuirkRule{}, fmt.Errorf("ippusb: quirk %q: unknown %q (interfaces=N, hard-reset, soft-reset)", s, k)
		}
	}
	return r, nil
}
