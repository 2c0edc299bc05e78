//go:build windows

package private

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// restrict replaces the access list with one entry, full control for the
// current user, and protects it from the parent folder's inherited
// entries (which under C:\ProgramData admit every user). Folders pass it
// on to what is created in them.
func restrict(path string, dir bool) error {
	me, err := currentSID()
	if err != nil {
		return err
	}
	acl, err := ownerOnly(me, dir)
	if err != nil {
		return fmt.Errorf("access list for %s: %w", path, err)
	}
	err = windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, acl, nil)
	if err != nil {
		return fmt.Errorf("cannot make %s private to its user: %w", path, err)
	}
	return nil
}

// ownerOnly is the access list restrict sets.
func ownerOnly(me *windows.SID, dir bool) (*windows.ACL, error) {
	inherit := uint32(windows.NO_INHERITANCE)
	if dir {
		inherit = windows.SUB_CONTAINERS_AND_OBJECTS_INHERIT
	}
	return windows.ACLFromEntries([]windows.EXPLICIT_ACCESS{{
		AccessPermissions: windows.GENERIC_ALL,
		AccessMode:        windows.SET_ACCESS,
		Inheritance:       inherit,
		Trustee: windows.TRUSTEE{
			TrusteeForm:  windows.TRUSTEE_IS_SID,
			TrusteeType:  windows.TRUSTEE_IS_USER,
			TrusteeValue: windows.TrusteeValueFromSID(me),
		},
	}}, nil)
}

// check reads the file's access list.
func check(path string) error {
	me, err := currentSID()
	if err != nil {
		return err
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the access list of %s: %w", path, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		dacl = nil
	}
	others, err := readersBesides(dacl, me)
	if err != nil {
		return fmt.Errorf("reading the access list of %s: %w", path, err)
	}
	if len(others) == 0 {
		return nil
	}
	return &ExposedError{Path: path, Who: "also " + strings.Join(others, ", "), Fix: fixFor(path)}
}

// readersBesides names the accounts other than me that an access list
// lets read a file's data. SYSTEM and the Administrators group are not
// counted: they can take any file, as root can on Unix. A missing list (a
// null DACL) lets everyone in.
func readersBesides(dacl *windows.ACL, me *windows.SID) ([]string, error) {
	if dacl == nil {
		return []string{"everyone (no access list)"}, nil
	}
	system, err := windows.CreateWellKnownSid(windows.WinLocalSystemSid)
	if err != nil {
		return nil, err
	}
	admins, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return nil, err
	}
	var others []string
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return nil, err
		}
		// Entries that deny, or only let one see the file's attributes
		// or its access list, read nothing.
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Mask&readAccess == 0 {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart)) // the SID begins there, in place
		if sid.Equals(me) || sid.Equals(system) || sid.Equals(admins) {
			continue
		}
		others = append(others, accountName(sid))
	}
	return others, nil
}

// readAccess is every right that reads a file's data.
const readAccess = windows.GENERIC_ALL | windows.GENERIC_READ | windows.FILE_READ_DATA

func fixFor(path string) string {
	return fmt.Sprintf(`icacls "%s" /inheritance:r /grant:r "%%USERNAME%%:F"`, path)
}

func currentSID() (*windows.SID, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("the current user's account: %w", err)
	}
	return tu.User.Sid, nil
}

func accountName(sid *windows.SID) string {
	if acct, dom, _, err := sid.LookupAccount(""); err == nil {
		if dom != "" {
			return dom + `\` + acct
		}
		return acct
	}
	return sid.String()
}

// lock locks the file's first byte, failing at once when another handle
// holds it.
func lock(f *os.File) error {
	var ov windows.Overlapped
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ov)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return ErrLocked
	}
	return err
}
