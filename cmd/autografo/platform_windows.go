//go:build windows

package main

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// processAlive tells whether a process with this id runs: it can be
// opened and has not exited.
func processAlive(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	var code uint32
	const stillActive = 259
	return windows.GetExitCodeProcess(h, &code) == nil && code == stillActive
}

// fileIdentity is what tells a file written anew from the same file left
// alone, beside its size and time: NTFS's file index, as the inode is on
// Unix.
func fileIdentity(path string, fi os.FileInfo) uint64 {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0
	}
	h, err := windows.CreateFile(p, 0, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return 0
	}
	defer windows.CloseHandle(h)
	var info windows.ByHandleFileInformation
	if windows.GetFileInformationByHandle(h, &info) != nil {
		return 0
	}
	return uint64(info.FileIndexHigh)<<32 | uint64(info.FileIndexLow)
}

// localAppData is %LOCALAPPDATA%\Autografo: the user's, not roamed to
// other machines (the store is this workstation's).
func localAppData() string {
	if d := os.Getenv("LOCALAPPDATA"); d != "" {
		return filepath.Join(d, "Autografo")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "Autografo")
	}
	return "Autografo"
}

func defaultStoreDir() string { return filepath.Join(localAppData(), "store") }

func defaultStateDir() string { return filepath.Join(localAppData(), "state") }
