package escl

import (
	"context"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/mdns"

	"github.com/autografo/autografo/drivers/escl/escltest"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/scannertest"
)

func TestParseEntry(t *testing.T) {
	v4, v6 := net.ParseIP("192.0.2.10"), net.ParseIP("2001:db8::10")
	for _, tc := range []struct {
		name   string
		txt    []string
		v4, v6 net.IP
		port   int
		want   string
		ok     bool
	}{
		{"HP", []string{"txtvers=1", "ty=HP LaserJet MFP M426fdn", "rs=eSCL", "UUID=564E4333-3132-3130-3030-A0D3C1E7B6A0"}, v4, nil, 8080, "http://192.0.2.10:8080/eSCL", true},
		{"no rs: the default root", []string{"ty=Canon MF440"}, v4, nil, 80, "http://192.0.2.10:80/eSCL", true},
		{"rs with slashes", []string{"rs=/eSCL/"}, v4, nil, 80, "http://192.0.2.10:80/eSCL", true},
		{"empty rs: at the root", []string{"rs="}, v4, nil, 80, "http://192.0.2.10:80", true},
		{"IPv6 only", []string{"rs=eSCL"}, nil, v6, 80, "http://[2001:db8::10]:80/eSCL", true},
		{"link-local IPv6 needs a zone", []string{"rs=eSCL"}, nil, net.ParseIP("fe80::1"), 80, "", false},
		{"no address", []string{"rs=eSCL"}, nil, nil, 80, "", false},
		{"bad port", []string{"rs=eSCL"}, v4, nil, 0, "", false},
		{"rs smuggling a host", []string{"rs=@evil.example/eSCL"}, v4, nil, 80, "", false},
		{"rs with a query", []string{"rs=eSCL?x=1"}, v4, nil, 80, "", false},
		{"rs climbing", []string{"rs=../admin"}, v4, nil, 80, "", false},
	} {
		a, ok := parseEntry(tc.txt, tc.v4, tc.v6, tc.port)
		if ok != tc.ok || a.URL != tc.want {
			t.Errorf("%s: %q %v, want %q %v", tc.name, a.URL, ok, tc.want, tc.ok)
		}
	}
	a, _ := parseEntry([]string{"ty=HP LaserJet MFP M426fdn", "UUID=ABC"}, v4, nil, 80)
	if a.Model != "HP LaserJet MFP M426fdn" || a.UUID != "abc" {
		t.Errorf("fields: %+v", a)
	}
}

// Whatever a host on the network announces, the URL we make points at the
// announced address and port, and parses.
func FuzzParseEntry(f *testing.F) {
	f.Add("rs=eSCL", "ty=Printer", 80)
	f.Add("rs=/a/b/", "UUID=x", 65535)
	f.Fuzz(func(t *testing.T, rs, other string, port int) {
		a, ok := parseEntry([]string{rs, other}, net.ParseIP("192.0.2.7"), nil, port)
		if !ok {
			return
		}
		u, err := url.Parse(a.URL)
		if err != nil || u.Host != "192.0.2.7:"+strconv.Itoa(port) || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			t.Fatalf("%q from %q %q %d", a.URL, rs, other, port)
		}
	})
}

// multicastInterface is an interface that can carry mDNS on this machine.
func multicastInterface(t *testing.T) *net.Interface {
	t.Helper()
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagMulticast != 0 && i.Flags&net.FlagLoopback == 0 {
			if addrs, _ := i.Addrs(); len(addrs) > 0 {
				return &i
			}
		}
	}
	scannertest.Unavailable(t, "no interface with multicast for mDNS")
	return nil
}

// A scanner that announces itself by mDNS (a real responder on the
// network's multicast group) is found, listed with the model it
// announces, and scans.
func TestMDNSDiscovery(t *testing.T) {
	iface := multicastInterface(t)
	emu := escltest.New(1)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	port, _ := strconv.Atoi(srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	svc, err := mdns.NewMDNSService("Scanner di prova", "_uscan._tcp", "", "scanner-prova.local.", port,
		[]net.IP{net.ParseIP("127.0.0.1")}, []string{"txtvers=1", "ty=Autografo Emulated MFP", "rs=eSCL", "UUID=6a3e0e4c-0000-4000-8000-000000000001"})
	if err != nil {
		t.Fatal(err)
	}
	responder, err := mdns.NewServer(&mdns.Config{Zone: svc, Iface: iface, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		scannertest.Unavailable(t, "cannot join the mDNS group on %s: %v", iface.Name, err)
	}
	defer responder.Shutdown()

	d, err := New(Options{Browse: &BrowseOptions{Interval: 300 * time.Millisecond, Timeout: 500 * time.Millisecond, Interface: iface}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	want := scanner.ID("escl:http://127.0.0.1:" + strconv.Itoa(port) + "/eSCL")
	var infos []scanner.Info
	// Until it is seen: a device never discovered is the test's timeout.
	for ; ; time.Sleep(100 * time.Millisecond) {
		if infos, err = d.Discover(ctx); err == nil && len(infos) == 1 {
			break
		}
	}
	if len(infos) != 1 || infos[0].ID != want || infos[0].Model != "Autografo eSCL Emulator" {
		t.Fatalf("discovered %+v, want %s", infos, want)
	}
	dev, err := d.Open(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	job, err := dev.Scan(ctx, scanner.Request{Source: scanner.Platen, DPI: 150, Color: scanner.Gray})
	if err != nil {
		t.Fatal(err)
	}
	p, err := job.NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.Body.Close()
}
