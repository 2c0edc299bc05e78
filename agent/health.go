package agent

import (
	"context"
	"time"

	"github.com/autografo/autografo/agent/store"
)

// Health is the agent's state for monitoring. It holds no secret and no
// act's data: what an IT department's probe may read on every workstation.
type Health struct {
	// Status is "ok", or "degraded" when the store cannot be read, a
	// certificate is not valid now or the officer's card is not used: acts
	// cannot be kept, or not sealed, or not attested.
	Status  string `json:"status"`
	Version string `json:"version"`
	// Devices are the scanners seen now, by driver and model.
	Devices []HealthDevice `json:"devices"`
	Store   HealthStore    `json:"store"`
	// Certificates are the seal's and the officer's, when configured.
	Certificates []HealthCertificate `json:"certificates"`
	// AttestationDown is why the configured officer's card is not used
	// (a PIN it refused), in English; empty when it is used or none is
	// configured.
	AttestationDown string `json:"attestationDown,omitempty"`
	// Sessions is how many browser sessions are connected.
	Sessions int `json:"sessions"`
}

// HealthDevice is a scanner seen, without its address or serial number.
type HealthDevice struct {
	Driver string `json:"driver"`
	Model  string `json:"model"`
}

// HealthStore says whether the store answers, and how many acts wait for
// ANSC's confirmation (their images still here).
type HealthStore struct {
	OK bool `json:"ok"`
	// Error is why it does not answer, in English.
	Error string `json:"error,omitempty"`
	// Unconfirmed counts acts not yet confirmed by ANSC, cancelled or
	// deleted: the work a workstation must not be wiped with.
	Unconfirmed int `json:"unconfirmed"`
}

// HealthCertificate is one certificate's validity.
type HealthCertificate struct {
	Use       string    `json:"use"` // "seal" or "attestation"
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	// Valid now; DaysLeft until it expires (negative once it has).
	Valid    bool `json:"valid"`
	DaysLeft int  `json:"daysLeft"`
}

// validity is what a Sealer tells of its certificate (seal.Sealer does),
// with the time by its own clock: the one it signs by.
type validity interface {
	Validity() (notBefore, notAfter, now time.Time)
}

// Health reports the agent's state now.
func (a *Agent) Health(ctx context.Context) Health {
	h := Health{Status: "ok", Version: a.opts.Version, Devices: []HealthDevice{}, Certificates: []HealthCertificate{}}
	for _, d := range a.scanners.Devices() {
		h.Devices = append(h.Devices, HealthDevice{Driver: d.Driver, Model: d.Model})
	}
	// Counted, not read: a probe polls this on every workstation.
	n, err := a.opts.Store.CountInState(ctx, store.StateDraft, store.StatePrinted, store.StateCapturing, store.StateCaptured,
		store.StateChecked, store.StateReady, store.StateDelivered)
	if err != nil {
		h.Status, h.Store.Error = "degraded", err.Error()
	} else {
		h.Store.OK, h.Store.Unconfirmed = true, n
	}
	for _, c := range []struct {
		use string
		s   Sealer
	}{{"seal", a.opts.Sealer}, {"attestation", a.opts.Attester}} {
		v, ok := c.s.(validity)
		if c.s == nil || !ok {
			continue
		}
		from, until, now := v.Validity()
		hc := HealthCertificate{Use: c.use, NotBefore: from.UTC(), NotAfter: until.UTC(),
			Valid: !now.Before(from) && !now.After(until), DaysLeft: int(until.Sub(now).Hours() / 24)}
		if !hc.Valid {
			h.Status = "degraded"
		}
		h.Certificates = append(h.Certificates, hc)
	}
	if a.opts.AttesterDown != nil {
		h.Status, h.AttestationDown = "degraded", a.opts.AttesterDown.Error()
	}
	a.mu.Lock()
	h.Sessions = len(a.sessions)
	a.mu.Unlock()
	return h
}
