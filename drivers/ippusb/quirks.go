package ippusb

import "strings"

// quirks are what some models need, from the public IPP-over-USB
// implementations (OpenPrinting's ipp-usb); keyed by the product string,
// as they are there.
type quirks struct {
	// maxInterfaces caps the interfaces used: eSCL hangs on these models
	// when a second interface is used at the same time.
	maxInterfaces int
	// hardReset resets the device before use: it comes up unable to answer
	// otherwise.
	hardReset bool
}

var quirkTable = []struct {
	product string // prefix of "Manufacturer Product", case-insensitive
	q       quirks
}{
	{"HP ScanJet Pro 4500 fn1", quirks{maxInterfaces: 1}},
	{"Brother QL-810W", quirks{maxInterfaces: 1}},
	{"Xerox B205", quirks{hardReset: true}},
	{"Xerox B210", quirks{hardReset: true}},
	{"Xerox B215", quirks{hardReset: true}},
}

func quirksFor(manufacturer, product string) quirks {
	names := []string{strings.ToLower(product), strings.ToLower(manufacturer + " " + product)}
	for _, e := range quirkTable {
		p := strings.ToLower(e.product)
		for _, n := range names {
			if strings.HasPrefix(n, p) {
				return e.q
			}
		}
	}
	return quirks{}
}
