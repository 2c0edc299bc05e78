package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// pinRefusalFile, in the state directory, remembers a PIN the officer's
// card refused. A card locks after a few wrong PINs, and a service that
// restarts in a loop, or starts at every boot, would spend one at each
// start: so the same PIN file is never tried twice. The file is named by
// what the operator changes when giving the PIN again (its size, time and
// inode), never by the PIN itself, which stays in its own file only.
const pinRefusalFile = "pin-refused.json"

// pinRefusal is what is remembered of a refused PIN.
type pinRefusal struct {
	Module  string    `json:"module"`
	Token   string    `json:"token"`
	PINFile string    `json:"pin_file"`
	Size    int64     `json:"size"`
	ModTime int64     `json:"mod_time_ns"`
	Inode   uint64    `json:"inode"`
	At      time.Time `json:"refused_at"`
}

// errPINNotRetried is serve's reason for running without the officer's
// card: the PIN in the PIN file was refused before.
var errPINNotRetried = errors.New("the officer's card refused this PIN file's PIN; it is not tried again until the PIN file is written anew")

// pinGuard keeps the refusal file.
type pinGuard struct{ path string }

func newPINGuard(stateDir string) pinGuard {
	return pinGuard{path: filepath.Join(stateDir, pinRefusalFile)}
}

// identify describes the card and the PIN file as they are configured
// now; with no PIN file, the card alone.
func identify(module, token, pinFile string) (pinRefusal, error) {
	r := pinRefusal{Module: module, Token: token, PINFile: pinFile}
	if pinFile == "" {
		return r, nil
	}
	fi, err := os.Stat(pinFile)
	if err != nil {
		return pinRefusal{}, err
	}
	r.Size, r.ModTime = fi.Size(), fi.ModTime().UnixNano()
	r.Inode = fileIdentity(pinFile, fi)
	return r, nil
}

// refused tells whether this PIN file, as it is now, holds the PIN the
// card refused last, and when that was.
func (g pinGuard) refused(now pinRefusal) (time.Time, bool) {
	b, err := os.ReadFile(g.path)
	if err != nil {
		return time.Time{}, false
	}
	var was pinRefusal
	if json.Unmarshal(b, &was) != nil {
		return time.Time{}, false
	}
	at := was.At
	was.At = time.Time{}
	return at, was == now
}

// record remembers a refusal of the PIN file as it is now.
func (g pinGuard) record(r pinRefusal, at time.Time) error {
	r.At = at.UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := writePrivate(filepath.Dir(g.path), filepath.Base(g.path), b); err != nil {
		return fmt.Errorf("recording the refused PIN: %w", err)
	}
	return nil
}

// clear forgets a refusal, once a PIN was taken.
func (g pinGuard) clear() error {
	if err := os.Remove(g.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
