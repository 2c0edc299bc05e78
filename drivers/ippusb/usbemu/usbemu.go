//go:build umockdev

// Package usbemu emulates a USB multifunction printer for the real
// gousb -> libusb -> usbdevfs path, with no USB hardware: umockdev's
// preload library fakes sysfs and /dev inside the test process, and the
// usbdevfs ioctls libusb sends land in Go here. Each IPP-over-USB
// interface's bulk pair is an ippusbtest.Stream serving an eSCL emulator.
//
// The process must run under LD_PRELOAD=libumockdev-preload.so.0 from its
// start: tests call Reexec, which runs the test binary again that way.
// One emulated device per process.
package usbemu

/*
#cgo pkg-config: umockdev-1.0
#include <stdlib.h>
#include <umockdev.h>
UMockdevIoctlBase *usbemu_handler(void);
UMockdevTestbed *usbemu_testbed(const char *description, char **errmsg);
int usbemu_attach(UMockdevTestbed *tb, const char *devnode, UMockdevIoctlBase *h, char **errmsg);
UMockdevIoctlData *usbemu_resolve(UMockdevIoctlData *d, gsize offset, gsize len);
void usbemu_unref(gpointer p);
*/
import "C"

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/autografo/autografo/drivers/ippusb/ippusbtest"
)

// Alt is one alternate setting of an interface. Endpoint addresses with
// bit 7 set are IN; all are bulk but those in Interrupt.
type Alt struct {
	Class, SubClass, Protocol uint8
	Endpoints                 []uint8
	Interrupt                 []uint8
}

// Device is the emulated device.
type Device struct {
	Vendor, ProductID             uint16
	Manufacturer, Product, Serial string
	// Interfaces, by number: each a list of alt settings.
	Interfaces [][]Alt
	// Configured: the configuration is already set (sysfs says 1), as the
	// kernel leaves a device it bound a driver to.
	Configured bool
	// Streams serve the bulk pairs, keyed by the OUT endpoint's address;
	// the IN endpoint is the same number with bit 7 set.
	Streams map[uint8]*ippusbtest.Stream
	// Held: another program (ipp-usb, another Autografo) has claimed the
	// interfaces, so claiming them fails with EBUSY, as the kernel says.
	Held bool

	mu      sync.Mutex
	pending []*urb
	done    []*urb
	gone    bool
	counts  map[string]int
	claimed map[int]bool
	alts    map[int]int
}

// Bus and device number of the emulated device.
const (
	BusNum  = 1
	DevNum  = 7
	SysPath = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-4"
)

// Descriptors are the device and configuration descriptors, as the kernel
// exposes them in sysfs.
func (d *Device) Descriptors() []byte {
	le := binary.LittleEndian
	dev := []byte{18, 1, 0, 2, 0, 0, 0, 64, 0, 0, 0, 0, 0, 1, 1, 2, 3, 1}
	le.PutUint16(dev[8:], d.Vendor)
	le.PutUint16(dev[10:], d.ProductID)
	var body []byte
	for n, alts := range d.Interfaces {
		for a, alt := range alts {
			body = append(body, 9, 4, byte(n), byte(a), byte(len(alt.Endpoints)+len(alt.Interrupt)), alt.Class, alt.SubClass, alt.Protocol, 0)
			for _, ep := range alt.Endpoints {
				body = append(body, 7, 5, ep, 2, 0, 2, 0) // bulk, 512-byte packets
			}
			for _, ep := range alt.Interrupt {
				body = append(body, 7, 5, ep, 3, 16, 0, 8)
			}
		}
	}
	cfg := []byte{9, 2, 0, 0, byte(len(d.Interfaces)), 1, 0, 0xc0, 50}
	le.PutUint16(cfg[2:], uint16(len(cfg)+len(body)))
	return append(append(dev, cfg...), append(body, nil...)...)
}

// text is the device in umockdev's description format.
func (d *Device) text() string {
	h := strings.ToUpper(hex.EncodeToString(d.Descriptors()))
	cfg := ""
	if d.Configured {
		cfg = "1"
	}
	var ifs []string
	for _, alts := range d.Interfaces {
		ifs = append(ifs, fmt.Sprintf("%02x%02x%02x", alts[0].Class, alts[0].SubClass, alts[0].Protocol))
	}
	return fmt.Sprintf(`P: %[1]s
N: bus/usb/%03[2]d/%03[3]d=%[4]s
E: DEVNAME=/dev/bus/usb/%03[2]d/%03[3]d
E: DEVTYPE=usb_device
E: DRIVER=usb
E: PRODUCT=%[5]x/%[6]x/100
E: TYPE=0/0/0
E: BUSNUM=%03[2]d
E: DEVNUM=%03[3]d
E: MAJOR=189
E: MINOR=%[7]d
E: SUBSYSTEM=usb
E: ID_VENDOR_ID=%04[5]x
E: ID_MODEL_ID=%04[6]x
E: ID_USB_INTERFACES=:%[8]s:
A: authorized=1
A: bConfigurationValue=%[9]s\n
A: bDeviceClass=00
A: bDeviceProtocol=00
A: bDeviceSubClass=00
A: bMaxPacketSize0=64
A: bNumConfigurations=1
A: bNumInterfaces=%2[10]d
A: bcdDevice=0100
A: bmAttributes=c0
A: busnum=%[2]d\n
A: devnum=%[3]d\n
A: devpath=4
A: dev=189:%[7]d
A: idProduct=%04[6]x
A: idVendor=%04[5]x
A: manufacturer=%[11]s
A: product=%[12]s
A: serial=%[13]s
A: speed=480\n
A: version= 2.00
H: descriptors=%[4]s
`, strings.TrimPrefix(SysPath, "/sys"), BusNum, DevNum, h, d.Vendor, d.ProductID, (BusNum-1)*128+DevNum-1,
		strings.Join(ifs, ":"), cfg, len(d.Interfaces), d.Manufacturer, d.Product, d.Serial)
}

// The usbdevfs ioctls libusb sends (x86_64 numbers).
const (
	ioResetEP         = 0x80045503
	ioSetInterface    = 0x80085504
	ioSetConfig       = 0x80045505
	ioGetDriver       = 0x41045508
	ioSubmitURB       = 0x8038550a
	ioDiscardURB      = 0x0000550b
	ioReapURB         = 0x4008550c
	ioReapURBNDelay   = 0x4008550d
	ioClaim           = 0x8004550f
	ioRelease         = 0x80045510
	ioIoctl           = 0xc0105512
	ioReset           = 0x00005514
	ioClearHalt       = 0x80045515
	ioGetCaps         = 0x8004551a
	ioDisconnectClaim = 0x8108551b
	ioGetSpeed        = 0x0000551f
)

var ioctlNames = map[uint64]string{
	ioResetEP: "RESETEP", ioSetInterface: "SETINTERFACE", ioSetConfig: "SETCONFIGURATION", ioGetDriver: "GETDRIVER",
	ioSubmitURB: "SUBMITURB", ioDiscardURB: "DISCARDURB", ioReapURB: "REAPURB", ioReapURBNDelay: "REAPURBNDELAY",
	ioClaim: "CLAIMINTERFACE", ioRelease: "RELEASEINTERFACE", ioIoctl: "IOCTL", ioReset: "RESET", ioClearHalt: "CLEAR_HALT",
	ioGetCaps: "GET_CAPABILITIES", ioDisconnectClaim: "DISCONNECT_CLAIM", ioGetSpeed: "GET_SPEED",
}

// urb is a submitted transfer: the client's struct usbdevfs_urb and its
// buffer, kept until libusb reaps it.
type urb struct {
	io, buf *C.UMockdevIoctlData
	typ, ep uint8
	length  int
	addr    uint64
	status  int32
	actual  int32
}

var (
	mu      sync.Mutex
	active  *Device
	testbed *C.UMockdevTestbed
	rootDir string
)

// PreloadEnv marks a process started by Reexec.
const PreloadEnv = "AUTOGRAFO_USBEMU"

// TestbedNode is where, in the testbed, the plugged device's node is: the
// file the preload opens for /dev/bus/usb/BBB/DDD ("" before Start).
func TestbedNode() string {
	mu.Lock()
	defer mu.Unlock()
	if rootDir == "" {
		return ""
	}
	return filepath.Join(rootDir, fmt.Sprintf("dev/bus/usb/%03d/%03d", BusNum, DevNum))
}

// Preloaded reports whether this process runs under umockdev's preload.
func Preloaded() bool { return os.Getenv(PreloadEnv) == "1" }

// Reexec runs the test binary again under the preload, for one test (or,
// with bench set, one benchmark), and returns its output.
func Reexec(name string, bench bool) ([]byte, error) {
	return ReexecVia(name, bench)
}

// ReexecVia is Reexec with the child started through a wrapper command
// (for instance setpriv, to take privileges away from it).
func ReexecVia(name string, bench bool, wrapper ...string) ([]byte, error) {
	args := []string{"-test.run=^" + name + "$", "-test.v", "-test.count=1"}
	if bench {
		args = []string{"-test.run=^$", "-test.bench=^" + name + "$", "-test.benchmem"}
	}
	argv := append(append(wrapper[:len(wrapper):len(wrapper)], os.Args[0]), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), PreloadEnv+"=1", "LD_PRELOAD=libumockdev-preload.so.0")
	return cmd.CombinedOutput()
}

// Start makes the testbed and plugs d in. Call it before libusb starts.
func Start(d *Device) error {
	if !Preloaded() {
		return errors.New("usbemu: not running under libumockdev-preload (use Reexec)")
	}
	d.counts, d.claimed, d.alts = map[string]int{}, map[int]bool{}, map[int]int{}
	desc := C.CString(d.text())
	defer C.free(unsafe.Pointer(desc))
	var cerr *C.char
	tb := C.usbemu_testbed(desc, &cerr)
	if tb == nil {
		defer C.free(unsafe.Pointer(cerr))
		return errors.New("usbemu: " + C.GoString(cerr))
	}
	root := C.umockdev_testbed_get_root_dir(tb)
	mu.Lock()
	active, testbed, rootDir = d, tb, C.GoString((*C.char)(unsafe.Pointer(root)))
	mu.Unlock()
	C.g_free(C.gpointer(root))
	node := C.CString(fmt.Sprintf("/dev/bus/usb/%03d/%03d", BusNum, DevNum))
	defer C.free(unsafe.Pointer(node))
	if C.usbemu_attach(tb, node, C.usbemu_handler(), &cerr) == 0 {
		defer C.free(unsafe.Pointer(cerr))
		return errors.New("usbemu: " + C.GoString(cerr))
	}
	for _, s := range d.Streams {
		s.OnPull = d.Unplug
	}
	return nil
}

// Stop removes the testbed. Close every libusb context first.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if testbed != nil {
		C.usbemu_unref(C.gpointer(testbed))
		testbed = nil
	}
	if rootDir != "" {
		os.RemoveAll(rootDir)
		rootDir = ""
	}
}

// Unplug pulls the cable: transfers in flight end with ENODEV once the
// bytes already sent are read, new ones fail, and the device leaves sysfs.
func (d *Device) Unplug() {
	d.mu.Lock()
	d.gone = true
	d.mu.Unlock()
	go func() {
		mu.Lock()
		defer mu.Unlock()
		if testbed != nil {
			p := C.CString(SysPath)
			// libusb keeps its device list from udev's events: announce
			// the removal, as the kernel would, then take the device away.
			remove := C.CString("remove")
			C.umockdev_testbed_uevent(testbed, p, remove)
			C.free(unsafe.Pointer(remove))
			C.umockdev_testbed_remove_device(testbed, p)
			C.free(unsafe.Pointer(p))
		}
	}()
}

// Counts says how many of each ioctl the device saw.
func (d *Device) Counts() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]int, len(d.counts))
	for k, v := range d.counts {
		out[k] = v
	}
	return out
}

// Alt is the alt setting libusb selected on an interface.
func (d *Device) Alt(intf int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.alts[intf]
}

func data(d *C.UMockdevIoctlData) []byte {
	if d == nil || d.data == nil {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(d.data)), int(d.data_len))
}

func complete(c *C.UMockdevIoctlClient, res int, errno syscall.Errno) C.gboolean {
	C.umockdev_ioctl_client_complete(c, C.glong(res), C.gint(errno))
	return 1
}

//export usbemuIoctl
func usbemuIoctl(c *C.UMockdevIoctlClient) C.gboolean {
	mu.Lock()
	d := active
	mu.Unlock()
	req := uint64(C.umockdev_ioctl_client_get_request(c))
	arg := C.umockdev_ioctl_client_get_arg(c)
	d.mu.Lock()
	defer d.mu.Unlock()
	name, ok := ioctlNames[req]
	if !ok {
		name = fmt.Sprintf("0x%x", req)
	}
	d.counts[name]++
	le := binary.LittleEndian
	word := func() uint32 {
		p := C.usbemu_resolve(arg, 0, 8)
		defer C.usbemu_unref(C.gpointer(p))
		return le.Uint32(data(p))
	}
	if d.gone && req != ioReapURB && req != ioReapURBNDelay && req != ioDiscardURB && req != ioRelease {
		return complete(c, -1, syscall.ENODEV)
	}
	switch req {
	case ioGetCaps:
		p := C.usbemu_resolve(arg, 0, 4)
		defer C.usbemu_unref(C.gpointer(p))
		// ZERO_PACKET | BULK_CONTINUATION | NO_PACKET_SIZE_LIM | REAP_AFTER_DISCONNECT
		le.PutUint32(data(p), 0x1|0x2|0x4|0x10)
		return complete(c, 0, 0)
	case ioClaim, ioDisconnectClaim:
		if d.Held {
			return complete(c, -1, syscall.EBUSY)
		}
		d.claimed[int(word())] = true
		return complete(c, 0, 0)
	case ioRelease:
		delete(d.claimed, int(word()))
		return complete(c, 0, 0)
	case ioSetInterface:
		p := C.usbemu_resolve(arg, 0, 8)
		b := data(p)
		d.alts[int(le.Uint32(b))] = int(le.Uint32(b[4:]))
		C.usbemu_unref(C.gpointer(p))
		return complete(c, 0, 0)
	case ioSetConfig, ioClearHalt, ioResetEP, ioReset:
		return complete(c, 0, 0)
	case ioGetDriver, ioIoctl:
		return complete(c, -1, syscall.ENODATA) // no kernel driver bound
	case ioGetSpeed:
		return complete(c, 3, 0) // high speed
	case ioSubmitURB:
		io := C.usbemu_resolve(arg, 0, 56)
		raw := data(io)
		u := &urb{io: io, typ: raw[0], ep: raw[1], length: int(int32(le.Uint32(raw[24:]))), addr: uint64(io.client_addr)}
		if u.length > 0 {
			u.buf = C.usbemu_resolve(io, 16, C.gsize(u.length))
		}
		buf := data(u.buf)
		switch {
		case u.typ == 2: // control: 8 bytes of setup, then the data stage
			st, resp := d.control(buf[:8])
			copy(buf[8:], resp)
			u.status = st
			if buf[0]&0x80 != 0 {
				u.actual = int32(len(resp))
			} else {
				u.actual = int32(u.length - 8)
			}
			d.done = append(d.done, u)
		case u.ep&0x80 != 0:
			d.pending = append(d.pending, u)
		default:
			if s := d.Streams[u.ep]; s != nil {
				s.Out(append([]byte(nil), buf...))
			}
			u.actual = int32(u.length)
			d.done = append(d.done, u)
		}
		d.service()
		return complete(c, 0, 0)
	case ioDiscardURB:
		addr := le.Uint64(data(arg))
		for i, u := range d.pending {
			if u.addr == addr {
				d.pending = append(d.pending[:i], d.pending[i+1:]...)
				u.status = -int32(syscall.ENOENT)
				d.done = append(d.done, u)
				return complete(c, 0, 0)
			}
		}
		return complete(c, -1, syscall.EINVAL)
	case ioReapURB, ioReapURBNDelay:
		d.service()
		if len(d.done) == 0 {
			if d.gone {
				return complete(c, -1, syscall.ENODEV)
			}
			return complete(c, -1, syscall.EAGAIN)
		}
		u := d.done[0]
		d.done = d.done[1:]
		raw := data(u.io)
		le.PutUint32(raw[4:], uint32(u.status))
		le.PutUint32(raw[28:], uint32(u.actual))
		slot := C.usbemu_resolve(arg, 0, 8)
		C.umockdev_ioctl_data_set_ptr(slot, 0, u.io)
		C.usbemu_unref(C.gpointer(slot))
		C.usbemu_unref(C.gpointer(u.buf))
		C.usbemu_unref(C.gpointer(u.io))
		return complete(c, 0, 0)
	}
	return complete(c, -1, syscall.ENOTTY)
}

// service completes the IN transfers the device has data for; after the
// cable is pulled, the rest end with ENODEV.
func (d *Device) service() {
	keep := d.pending[:0]
	for _, u := range d.pending {
		s := d.Streams[u.ep&0x7f]
		var b []byte
		ok := false
		if s != nil {
			b, ok = s.In(u.length)
		}
		switch {
		case ok:
			copy(data(u.buf), b)
			u.actual = int32(len(b))
			d.done = append(d.done, u)
		case d.gone:
			u.status = -int32(syscall.ENODEV)
			d.done = append(d.done, u)
		default:
			keep = append(keep, u)
		}
	}
	d.pending = keep
}

// control answers GET_DESCRIPTOR for strings; anything else stalls.
func (d *Device) control(setup []byte) (int32, []byte) {
	le := binary.LittleEndian
	value, length := le.Uint16(setup[2:]), int(le.Uint16(setup[6:]))
	trim := func(b []byte) []byte { return b[:min(len(b), length)] }
	if setup[0]&0x60 == 0x20 { // a class request: the printer class's soft reset
		d.counts[fmt.Sprintf("CLASS 0x%02x/%d", setup[0], setup[1])]++
		return 0, nil
	}
	if setup[0] == 0x80 && setup[1] == 6 {
		switch value >> 8 {
		case 1:
			return 0, trim(d.Descriptors()[:18])
		case 2:
			return 0, trim(d.Descriptors()[18:])
		case 3:
			idx := value & 0xff
			if idx == 0 {
				return 0, trim([]byte{4, 3, 0x09, 0x04}) // US English
			}
			s := map[uint16]string{1: d.Manufacturer, 2: d.Product, 3: d.Serial}[idx]
			if s != "" {
				b := []byte{0, 3}
				for _, r := range s {
					b = le.AppendUint16(b, uint16(r))
				}
				b[0] = byte(len(b))
				return 0, trim(b)
			}
		}
	}
	return -int32(syscall.EPIPE), nil
}

// Description is the device as umockdev records it (umockdev-run -d): its
// sysfs attributes, udev properties and descriptors.
func (d *Device) Description() string { return d.text() }
