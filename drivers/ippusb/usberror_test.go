package ippusb

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/gousb"

	"github.com/autografo/autografo/scanner"
)

// libusb's errors become the scanner's, wrapped or only printed: gousb's
// Config.Interface keeps the text of a failed claim's error, not the error.
func TestUSBErrorsBecomeTheScannersErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
	}{
		{fmt.Errorf("open: %w", gousb.ErrorBusy), scanner.ErrBusy},
		{fmt.Errorf("failed to claim interface 0 on vid=1209,pid=4a47: %v", gousb.ErrorBusy), scanner.ErrBusy},
		{fmt.Errorf("failed to claim interface 0: %v", gousb.ErrorAccess), scanner.ErrPermission},
		{fmt.Errorf("failed to claim interface 0: %v", gousb.ErrorNoDevice), scanner.ErrGone},
		{gousb.TransferNoDevice, scanner.ErrGone},
	} {
		if got := usbError(c.err); !errors.Is(got, c.want) {
			t.Errorf("%v: %v, want %v", c.err, got, c.want)
		}
	}
	if got := usbError(gousb.ErrorIO); errors.Is(got, scanner.ErrBusy) || errors.Is(got, scanner.ErrGone) || errors.Is(got, scanner.ErrPermission) {
		t.Errorf("an I/O error became %v", got)
	}
}
