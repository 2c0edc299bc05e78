//go:build windows

package private

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/windows"
)

// The access lists a key file may have, read by Windows' own parser from
// their SDDL form: who besides its owner can read it.
func TestWhoElseAnAccessListLetsRead(t *testing.T) {
	me, err := currentSID()
	if err != nil {
		t.Fatal(err)
	}
	m := me.String()
	cases := []struct {
		name, sddl string
		others     []string
	}{
		{"the owner alone, protected", "D:P(A;;FA;;;" + m + ")", nil},
		{"the owner, SYSTEM and Administrators (a user's profile)", "D:(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;" + m + ")", nil},
		{"the Users group may read (a copy under C:\\ProgramData)", "D:(A;;FA;;;" + m + ")(A;;FR;;;BU)", []string{`BUILTIN\Users`}},
		{"everyone may read and execute", "D:(A;;FA;;;" + m + ")(A;;0x1200a9;;;WD)", []string{"Everyone"}},
		{"everyone may only see its attributes and its access list", "D:(A;;FA;;;" + m + ")(A;;0x120080;;;WD)", nil},
		{"everyone denied", "D:(D;;FA;;;WD)(A;;FA;;;" + m + ")", nil},
		{"generic read for Authenticated Users", "D:(A;;GR;;;AU)(A;;FA;;;" + m + ")", []string{`NT AUTHORITY\Authenticated Users`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sd, err := windows.SecurityDescriptorFromString(c.sddl)
			if err != nil {
				t.Fatal(err)
			}
			dacl, _, err := sd.DACL()
			if err != nil {
				t.Fatal(err)
			}
			got, err := readersBesides(dacl, me)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.others) {
				t.Errorf("%s: others who can read %q, want %q", c.sddl, got, c.others)
			}
		})
	}
	if got, _ := readersBesides(nil, me); len(got) != 1 {
		t.Errorf("a null access list lets everyone in: got %q", got)
	}
}

// What Restrict sets is what Check accepts, for files and folders, and a
// folder's entry is inherited by what is made in it.
func TestTheOwnersListIsPrivate(t *testing.T) {
	me, err := currentSID()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []bool{false, true} {
		acl, err := ownerOnly(me, dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := readersBesides(acl, me); err != nil || len(got) != 0 {
			t.Errorf("dir=%v: the owner's own list lets %q read (%v)", dir, got, err)
		}
	}
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Restrict(path); err != nil {
		t.Fatal(err)
	}
	if err := Check(path); err != nil {
		t.Fatalf("a key file Restrict made private: %v", err)
	}
}
