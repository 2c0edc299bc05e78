package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Signer is a person who must sign an act, with the officer's exceptions.
type Signer struct {
	Order         int
	Role          string
	Nome          string
	Cognome       string
	CodiceFiscale string
	Label         string // what the page prints beside the box ("Il testimone")
	// Unable: the signer cannot sign (the officer says why); the box is
	// expected empty.
	Unable       bool
	UnableReason string
	// Override: the officer looked at the page and confirms the signature
	// the pipeline found missing or doubtful.
	Override       bool
	OverrideReason string
	DecidedBy      string // the operator who marked or confirmed
}

// Errors of the lifecycle that callers branch on.
var (
	ErrAlreadyDelivered = errors.New("store: act already delivered to a browser")
	ErrAlreadyConfirmed = errors.New("store: act already confirmed by ANSC")
	ErrNothingToDeliver = errors.New("store: act is not ready to deliver")
	ErrNotHolder        = errors.New("store: the delivery is held by another tab")
	ErrNoSigner         = errors.New("store: the act has no such signer")
)

// CreateAct stores a new act, in state draft, with its signers.
func (s *Store) CreateAct(ctx context.Context, a Act, signers []Signer, by Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if by.Operator == "" {
		by.Operator = a.Operator
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var regTime int64
		if !a.RegisterTime.IsZero() {
			regTime = a.RegisterTime.UnixNano()
		}
		if _, err := tx.Exec(`INSERT INTO acts (id, kind, ref, signers, operator, comune, emergency, register, register_time, state, created, updated)
			VALUES (?, ?, ?, '[]', ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.Kind, s.sealText(a.Ref, "acts.ref", a.ID), a.Operator, a.Comune, a.Emergency, a.Register,
			regTime, StateDraft, now.UnixNano(), now.UnixNano()); err != nil {
			return err
		}
		if err := s.insertSigners(tx, a.ID, signers); err != nil {
			return err
		}
		detail := map[string]any{"kind": a.Kind, "ref": a.Ref, "comune": a.Comune, "signers": len(signers), "to": StateDraft}
		if a.Emergency {
			detail["register"] = a.Register
			if regTime != 0 {
				detail["register_time"] = a.RegisterTime.UTC().Format(time.RFC3339)
			}
		}
		return s.journal(tx, now, by, a.ID, "act.open", detail)
	})
}

func (s *Store) insertSigners(tx *sql.Tx, act string, signers []Signer) error {
	for i, sg := range signers {
		seal := func(col, v string) string { return s.sealText(v, "signers."+col, act, sg.Role) }
		if _, err := tx.Exec(`INSERT INTO signers (act, ord, role, nome, cognome, codice_fiscale, label) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			act, i+1, sg.Role, seal("nome", sg.Nome), seal("cognome", sg.Cognome), seal("codice_fiscale", sg.CodiceFiscale),
			seal("label", sg.Label)); err != nil {
			return fmt.Errorf("signer %s: %w", sg.Role, err)
		}
	}
	return nil
}

// journal appends a line with the actor's tab in its detail.
func (s *Store) journal(tx *sql.Tx, at time.Time, by Actor, act, event string, detail map[string]any) error {
	if by.Tab != "" {
		if detail == nil {
			detail = map[string]any{}
		}
		detail["tab"] = by.Tab
	}
	return s.appendJournal(tx, at, by.Operator, act, event, detail)
}

// Transition moves an act to another state along Lifecycle, in one
// transaction with also (which may change more of the act, add to the
// journal line's detail, or refuse) and one journal line: who, when, from,
// to, why. A move Lifecycle does not have is a *TransitionError, and
// nothing changes.
func (s *Store) Transition(ctx context.Context, act string, to State, by Actor, why string, detail map[string]any,
	also func(tx *sql.Tx, a Act) (map[string]any, error)) (Act, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out Act
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.transition(tx, act, to, by, why, detail, also); err != nil {
			return err
		}
		var err error
		out, err = s.actIn(tx, act)
		return err
	})
	return out, err
}

// transition is Transition inside the caller's transaction; it returns the
// act as it was before.
func (s *Store) transition(tx *sql.Tx, act string, to State, by Actor, why string, detail map[string]any,
	also func(tx *sql.Tx, a Act) (map[string]any, error)) (Act, error) {
	a, err := s.actIn(tx, act)
	if err != nil {
		return a, err
	}
	t, ok := transitionOf(a.State, to)
	if !ok {
		return a, &TransitionError{Act: act, From: a.State, To: to}
	}
	d := map[string]any{"from": a.State, "to": to, "why": why}
	for k, v := range detail {
		d[k] = v
	}
	if also != nil {
		more, err := also(tx, a)
		if err != nil {
			return a, err
		}
		for k, v := range more {
			d[k] = v
		}
	}
	now := s.now()
	if _, err := tx.Exec(`UPDATE acts SET state = ?, updated = ? WHERE id = ?`, to, now.UnixNano(), act); err != nil {
		return a, err
	}
	if to == StateCapturing {
		// How the last capture ended is news only until the next one.
		if _, err := tx.Exec(`UPDATE acts SET interrupted = '' WHERE id = ?`, act); err != nil {
			return a, err
		}
	}
	return a, s.journal(tx, now, by, act, t.Event, d)
}

const actColumns = `a.id, a.kind, a.ref, a.signers, a.operator, a.comune, a.emergency, a.register, a.register_time,
	a.state, a.printed, a.document, a.holder, a.attachment, a.confirmed, a.created, a.updated, a.interrupted,
	(SELECT COUNT(*) FROM pages p WHERE p.act = a.id)`

type rowScanner interface{ Scan(dest ...any) error }

func (s *Store) scanAct(r rowScanner) (Act, error) {
	var a Act
	var signers string
	var created, updated, regTime, confirmed int64
	if err := r.Scan(&a.ID, &a.Kind, &a.Ref, &signers, &a.Operator, &a.Comune, &a.Emergency, &a.Register, &regTime,
		&a.State, &a.Printed, &a.Document, &a.Holder, &a.Attachment, &confirmed, &created, &updated, &a.Interrupted, &a.Pages); err != nil {
		return a, err
	}
	if regTime != 0 {
		a.RegisterTime = time.Unix(0, regTime)
	}
	if confirmed != 0 {
		a.Confirmed = time.Unix(0, confirmed)
	}
	a.Signers = json.RawMessage(signers)
	a.Created, a.Updated = time.Unix(0, created), time.Unix(0, updated)
	var err error
	a.Ref, err = s.openText(a.Ref, "acts.ref", a.ID)
	return a, err
}

func (s *Store) actIn(q interface {
	QueryRow(string, ...any) *sql.Row
}, id string) (Act, error) {
	a, err := s.scanAct(q.QueryRow(`SELECT `+actColumns+` FROM acts a WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("%w: act %s", ErrNotFound, id)
	}
	return a, err
}

// Act returns one act with its page count.
func (s *Store) Act(ctx context.Context, id string) (Act, error) {
	a, err := s.scanAct(s.db.QueryRowContext(ctx, `SELECT `+actColumns+` FROM acts a WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("%w: act %s", ErrNotFound, id)
	}
	if err != nil {
		return a, fmt.Errorf("store: %w", err)
	}
	return a, nil
}

// Pending lists the acts whose images are still here (neither purged nor
// deleted), newest first.
func (s *Store) Pending(ctx context.Context) ([]Act, error) {
	return s.queryActs(ctx, `WHERE a.state NOT IN (?, ?) ORDER BY a.created DESC`, StatePurged, StateDeleted)
}

// CountInState counts the acts in any of the states, without reading them.
func (s *Store) CountInState(ctx context.Context, states ...State) (int, error) {
	if len(states) == 0 {
		return 0, nil
	}
	args := make([]any, len(states))
	for i, st := range states {
		args[i] = st
	}
	var n int
	q := `SELECT COUNT(*) FROM acts WHERE state IN (?` + strings.Repeat(", ?", len(states)-1) + `)`
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return n, nil
}

// InState lists the acts in any of the states, oldest first.
func (s *Store) InState(ctx context.Context, states ...State) ([]Act, error) {
	var out []Act
	for _, st := range states {
		acts, err := s.queryActs(ctx, `WHERE a.state = ? ORDER BY a.created`, st)
		if err != nil {
			return nil, err
		}
		out = append(out, acts...)
	}
	return out, nil
}

func (s *Store) queryActs(ctx context.Context, where string, args ...any) ([]Act, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+actColumns+` FROM acts a `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Act
	for rows.Next() {
		a, err := s.scanAct(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Signers lists an act's signers in their order.
func (s *Store) Signers(ctx context.Context, act string) ([]Signer, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT ord, role, nome, cognome, codice_fiscale, label, unable, unable_reason,
		override, override_reason, decided_by FROM signers WHERE act = ? ORDER BY ord`, act)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Signer
	for rows.Next() {
		var sg Signer
		if err := rows.Scan(&sg.Order, &sg.Role, &sg.Nome, &sg.Cognome, &sg.CodiceFiscale, &sg.Label, &sg.Unable, &sg.UnableReason,
			&sg.Override, &sg.OverrideReason, &sg.DecidedBy); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		for col, v := range map[string]*string{"nome": &sg.Nome, "cognome": &sg.Cognome, "codice_fiscale": &sg.CodiceFiscale,
			"label": &sg.Label, "unable_reason": &sg.UnableReason, "override_reason": &sg.OverrideReason} {
			if *v, err = s.openText(*v, "signers."+col, act, sg.Role); err != nil {
				return nil, err
			}
		}
		out = append(out, sg)
	}
	return out, rows.Err()
}

const pageColumns = `idx, media_type, width, height, dpi, size, sha256, created, boxes, analysed, analysis, position, turn, removed, replaces, ord, back, fit, asked_dpi`

func (s *Store) scanPage(r rowScanner, act string, extra ...any) (Page, error) {
	p := Page{Act: act}
	var created int64
	var boxes, analysis string
	dest := append([]any{&p.Index, &p.MediaType, &p.Width, &p.Height, &p.DPI, &p.Size, &p.SHA256, &created,
		&boxes, &p.Analysed, &analysis, &p.Position, &p.Turn, &p.Removed, &p.Replaces, &p.Ord, &p.Back, &p.Fit, &p.AskedDPI}, extra...)
	if err := r.Scan(dest...); err != nil {
		return p, err
	}
	p.Created = time.Unix(0, created)
	var err error
	if boxes, err = s.openText(boxes, "pages.boxes", act, p.Index); err != nil {
		return p, err
	}
	if analysis, err = s.openText(analysis, "pages.analysis", act, p.Index); err != nil {
		return p, err
	}
	if boxes != "" {
		p.Boxes = json.RawMessage(boxes)
	}
	if analysis != "" {
		p.Analysis = json.RawMessage(analysis)
	}
	return p, nil
}

// Pages lists an act's pages in capture order.
func (s *Store) Pages(ctx context.Context, act string) ([]Page, error) {
	pages, err := s.pagesIn(ctx, s.db, act)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return pages, nil
}

// pagesIn lists an act's pages in capture order, in a transaction or not.
func (s *Store) pagesIn(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, act string) ([]Page, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+pageColumns+` FROM pages WHERE act = ? ORDER BY idx`, act)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Page
	for rows.Next() {
		p, err := s.scanPage(rows, act)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// AddPage commits a page, encrypted, and journals the capture. Pages are
// added only while a capture runs. When it returns nil the page is on
// disk: only then may it be announced. A page that Replaces another (a
// retake) takes its place in the act, and the other is removed, in the
// same transaction.
func (s *Store) AddPage(ctx context.Context, p Page, data []byte, by Actor) (Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := sha256.Sum256(data)
	p.SHA256 = hex.EncodeToString(sum[:])
	p.Size = int64(len(data))
	p.Created = s.now()
	p.Turn = -1
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.actIn(tx, p.Act)
		if err != nil {
			return err
		}
		if a.State != StateCapturing {
			return &TransitionError{Act: p.Act, From: a.State, To: StateCaptured}
		}
		if err := tx.QueryRow(`SELECT COUNT(*) + 1 FROM pages WHERE act = ?`, p.Act).Scan(&p.Index); err != nil {
			return err
		}
		p.Ord = float64(p.Index)
		if p.Replaces > 0 {
			var removed bool
			err := tx.QueryRow(`SELECT ord, removed FROM pages WHERE act = ? AND idx = ?`, p.Act, p.Replaces).Scan(&p.Ord, &removed)
			if errors.Is(err, sql.ErrNoRows) || removed {
				return fmt.Errorf("%w: page %d of %s to replace", ErrNotFound, p.Replaces, p.Act)
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE pages SET removed = 1, position = 0 WHERE act = ? AND idx = ?`, p.Act, p.Replaces); err != nil {
				return err
			}
		}
		nonce, box := s.seal(data, pageAAD(p.Act, p.Index, p.SHA256))
		if _, err := tx.Exec(`INSERT INTO pages (act, idx, media_type, width, height, dpi, size, sha256, nonce, data, created, boxes, replaces, ord, back, fit, asked_dpi)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.Act, p.Index, p.MediaType, p.Width, p.Height, p.DPI, p.Size,
			p.SHA256, nonce, box, p.Created.UnixNano(), s.sealText(string(p.Boxes), "pages.boxes", p.Act, p.Index), p.Replaces, p.Ord, p.Back, p.Fit, p.AskedDPI); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE acts SET updated = ? WHERE id = ?`, p.Created.UnixNano(), p.Act); err != nil {
			return err
		}
		detail := map[string]any{"page": p.Index, "sha256": p.SHA256, "bytes": p.Size}
		if p.Replaces > 0 {
			detail["replaces"] = p.Replaces
		}
		return s.journal(tx, p.Created, by, p.Act, "capture", detail)
	})
	return p, err
}

// PageChange is the officer's change to one page: Remove takes it out of
// the act; otherwise it moves, before page Before (0: to the end).
type PageChange struct {
	Page   int
	Remove bool
	Before int
	Reason string
}

// ArrangePage applies the officer's change to a page of a captured,
// checked or ready act (a ready act is checked again) and, once the act's
// document pages are fixed, fixes them anew with order, in one
// transaction.
func (s *Store) ArrangePage(ctx context.Context, act string, c PageChange, order func([]Page) PageOrder, by Actor) (Act, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out Act
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.actIn(tx, act)
		if err != nil {
			return err
		}
		switch a.State {
		case StateCaptured, StateChecked, StateReady:
		default:
			return &TransitionError{Act: act, From: a.State, To: StateChecked}
		}
		pages, err := s.pagesIn(ctx, tx, act)
		if err != nil {
			return err
		}
		at := slices.IndexFunc(pages, func(p Page) bool { return p.Index == c.Page && !p.Removed })
		if at < 0 {
			return fmt.Errorf("%w: page %d of %s", ErrNotFound, c.Page, act)
		}
		event, detail := "page.move", map[string]any{"page": c.Page, "before": c.Before}
		if c.Remove {
			event, detail = "page.remove", map[string]any{"page": c.Page, "reason": c.Reason}
			pages[at].Removed = true
		} else {
			pages[at].Ord = newOrd(pages, c.Page, c.Before)
			if pages[at].Ord < 0 {
				return fmt.Errorf("%w: page %d of %s to move before", ErrNotFound, c.Before, act)
			}
		}
		if err := s.recordChanged(tx, act, by, fmt.Sprintf("%s %d", event, c.Page)); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE pages SET removed = ?, ord = ? WHERE act = ? AND idx = ?`, pages[at].Removed, pages[at].Ord, act, c.Page); err != nil {
			return err
		}
		if a.State != StateCaptured {
			if _, err := tx.Exec(`UPDATE pages SET position = 0 WHERE act = ?`, act); err != nil {
				return err
			}
			for idx, pos := range order(pages) {
				if _, err := tx.Exec(`UPDATE pages SET position = ? WHERE act = ? AND idx = ?`, pos, act, idx); err != nil {
					return err
				}
			}
		}
		if err := s.journal(tx, s.now(), by, act, event, detail); err != nil {
			return err
		}
		out, err = s.actIn(tx, act)
		return err
	})
	return out, err
}

// newOrd is where page goes to stand just before page before among the
// pages not removed, or after the last of them (before 0); -1 when before
// is not one of them.
func newOrd(pages []Page, page, before int) float64 {
	var kept []Page
	for _, p := range pages {
		if !p.Removed && p.Index != page {
			kept = append(kept, p)
		}
	}
	slices.SortStableFunc(kept, func(x, y Page) int { return cmp.Compare(x.Ord, y.Ord) })
	if before == 0 {
		if len(kept) == 0 {
			return 1
		}
		return kept[len(kept)-1].Ord + 1
	}
	i := slices.IndexFunc(kept, func(p Page) bool { return p.Index == before })
	if i < 0 {
		return -1
	}
	if i == 0 {
		return kept[0].Ord - 1
	}
	return (kept[i-1].Ord + kept[i].Ord) / 2
}

// Verdict is the pipeline's decision on one signer's box of a page, with
// the signature's crop.
type Verdict struct {
	Decision
	Crop []byte
}

// PutAnalysis keeps what the signature pipeline found on a page (its
// geometry and printed identity as JSON, and each box's verdict with its
// crop), replacing an earlier analysis, and marks the page analysed.
func (s *Store) PutAnalysis(ctx context.Context, act string, page int, analysis json.RawMessage, verdicts []Verdict, by Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE pages SET analysed = 1, analysis = ? WHERE act = ? AND idx = ?`,
			s.sealText(string(analysis), "pages.analysis", act, page), act, page)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: page %d of %s", ErrNotFound, page, act)
		}
		if _, err := tx.Exec(`DELETE FROM decisions WHERE act = ? AND page = ?`, act, page); err != nil {
			return err
		}
		summary := map[string]string{}
		for _, v := range verdicts {
			d := v.Decision
			sum := sha256.Sum256(v.Crop)
			d.CropSHA256 = hex.EncodeToString(sum[:])
			reasons, _ := json.Marshal(d.Reasons)
			nonce, box := s.seal(v.Crop, derivedAAD("decision", act, fmt.Sprintf("%d|%s", page, d.Role), d.CropSHA256))
			if _, err := tx.Exec(`INSERT INTO decisions (act, page, role, verdict, confidence, reasons, crop_type, crop_sha256, nonce, crop, created)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, act, page, d.Role, d.Verdict, d.Confidence, string(reasons),
				d.CropType, d.CropSHA256, nonce, box, now.UnixNano()); err != nil {
				return err
			}
			summary[d.Role] = d.Verdict
		}
		return s.journal(tx, now, by, act, "analysis", map[string]any{"page": page, "verdicts": summary})
	})
}

// PageOrder is where each page goes in the document: page index ->
// position (1-based); pages not named are left out of it.
type PageOrder map[int]int

// MarkChecked moves an act whose pages are all analysed to checked, and
// fixes the document's pages and their order, in one transaction.
func (s *Store) MarkChecked(ctx context.Context, act string, order PageOrder, by Actor) (Act, error) {
	return s.Transition(ctx, act, StateChecked, by, "every page analysed", map[string]any{"pages": len(order)},
		func(tx *sql.Tx, _ Act) (map[string]any, error) {
			var left int
			if err := tx.QueryRow(`SELECT COUNT(*) FROM pages WHERE act = ? AND analysed = 0`, act).Scan(&left); err != nil {
				return nil, err
			}
			if left > 0 {
				return nil, fmt.Errorf("%w: %d pages of %s are not analysed", ErrIllegalTransition, left, act)
			}
			if _, err := tx.Exec(`UPDATE pages SET position = 0 WHERE act = ?`, act); err != nil {
				return nil, err
			}
			for idx, pos := range order {
				if _, err := tx.Exec(`UPDATE pages SET position = ? WHERE act = ? AND idx = ?`, pos, act, idx); err != nil {
					return nil, err
				}
			}
			return nil, nil
		})
}

// MakeReady keeps an act's upload-ready document and moves the act from
// checked to ready, in one transaction: a document is never kept for an
// act that has moved on meanwhile.
func (s *Store) MakeReady(ctx context.Context, d Document, data []byte, why string, by Actor) (Act, Document, error) {
	sum := sha256.Sum256(data)
	d.SHA256, d.Size = hex.EncodeToString(sum[:]), int64(len(data))
	a, err := s.Transition(ctx, d.Act, StateReady, by, why, map[string]any{"document": d.Name, "sha256": d.SHA256, "bytes": d.Size},
		func(tx *sql.Tx, _ Act) (map[string]any, error) {
			if err := s.putDocument(tx, d, data); err != nil {
				return nil, err
			}
			_, err := tx.Exec(`UPDATE acts SET document = ? WHERE id = ?`, d.Name, d.Act)
			return nil, err
		})
	return a, d, err
}

// recordChanged is what a change of an act's record does to its state: a
// ready act is checked again (its document is built anew). Only acts
// whose record is still open to change get here.
func (s *Store) recordChanged(tx *sql.Tx, act string, by Actor, why string) error {
	a, err := s.actIn(tx, act)
	if err != nil {
		return err
	}
	switch a.State {
	case StateReady:
		_, err := s.transition(tx, act, StateChecked, by, why, nil, nil)
		return err
	case StateDraft, StatePrinted, StateCapturing, StateCaptured, StateChecked:
		return nil
	}
	return &TransitionError{Act: act, From: a.State, To: StateChecked}
}

// MarkUnable records that a signer cannot sign, and why: known before the
// capture, or after. The act's record changes, so a ready act is checked
// again.
func (s *Store) MarkUnable(ctx context.Context, act, role, reason string, by Actor) (Act, error) {
	return s.changeSigner(ctx, act, role, by, "signer.unable", map[string]any{"role": role, "reason": reason}, nil,
		`UPDATE signers SET unable = 1, unable_reason = ?, decided_by = ? WHERE act = ? AND role = ?`,
		s.sealText(reason, "signers.unable_reason", act, role), by.Operator, act, role)
}

// Override records the officer's confirmation of a signature that the
// pipeline found missing or doubtful, and why. There must be a verdict to
// override: the act's pages are analysed (checked or ready).
func (s *Store) Override(ctx context.Context, act, role, reason string, by Actor) (Act, error) {
	return s.changeSigner(ctx, act, role, by, "signature.override", map[string]any{"role": role, "reason": reason},
		[]State{StateChecked, StateReady},
		`UPDATE signers SET override = 1, override_reason = ?, decided_by = ? WHERE act = ? AND role = ?`,
		s.sealText(reason, "signers.override_reason", act, role), by.Operator, act, role)
}

func (s *Store) changeSigner(ctx context.Context, act, role string, by Actor, event string, detail map[string]any, only []State,
	query string, args ...any) (Act, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out Act
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if only != nil {
			a, err := s.actIn(tx, act)
			if err != nil {
				return err
			}
			if !slices.Contains(only, a.State) {
				return &TransitionError{Act: act, From: a.State, To: StateChecked}
			}
		}
		if err := s.recordChanged(tx, act, by, event+" "+role); err != nil {
			return err
		}
		res, err := tx.Exec(query, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: %s of act %s", ErrNoSigner, role, act)
		}
		if err := s.journal(tx, s.now(), by, act, event, detail); err != nil {
			return err
		}
		out, err = s.actIn(tx, act)
		return err
	})
	return out, err
}

// TurnPage records the officer's quarter turn for a page (0, 90, 180 or
// 270 degrees clockwise, as a PDF page's /Rotate).
func (s *Store) TurnPage(ctx context.Context, act string, page, turn int, by Actor) (Act, error) {
	if turn%90 != 0 || turn < 0 || turn >= 360 {
		return Act{}, fmt.Errorf("store: a page turns by 0, 90, 180 or 270 degrees, not %d", turn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out Act
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.recordChanged(tx, act, by, fmt.Sprintf("page %d turned", page)); err != nil {
			return err
		}
		res, err := tx.Exec(`UPDATE pages SET turn = ? WHERE act = ? AND idx = ?`, turn, act, page)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: page %d of %s", ErrNotFound, page, act)
		}
		if err := s.journal(tx, s.now(), by, act, "page.turn", map[string]any{"page": page, "turn": turn}); err != nil {
			return err
		}
		out, err = s.actIn(tx, act)
		return err
	})
	return out, err
}

func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Deliver hands a ready act over to one browser tab, exactly once: the
// check and the change are one transaction under the writers' lock, so of
// two tabs asking at the same moment one gets it and the other
// ErrAlreadyDelivered. token is the holder's secret: only it (or an
// administrator) can release or confirm the delivery, from this
// connection or after a reload.
func (s *Store) Deliver(ctx context.Context, act, token string, by Actor) (Act, error) {
	a, err := s.Transition(ctx, act, StateDelivered, by, "taken for the upload", nil, func(tx *sql.Tx, _ Act) (map[string]any, error) {
		_, err := tx.Exec(`UPDATE acts SET holder = ?, delivery = ? WHERE id = ?`, by.Tab, tokenDigest(token), act)
		return nil, err
	})
	return a, deliveryError(err)
}

// deliveryError names the usual reasons a delivery is refused.
func deliveryError(err error) error {
	var te *TransitionError
	if !errors.As(err, &te) {
		return err
	}
	switch te.From {
	case StateDelivered:
		return fmt.Errorf("%w: %w", ErrAlreadyDelivered, err)
	case StateConfirmed, StatePurged:
		return fmt.Errorf("%w: %w", ErrAlreadyConfirmed, err)
	case StateDraft, StatePrinted, StateCapturing, StateCaptured, StateChecked:
		return fmt.Errorf("%w: %w", ErrNothingToDeliver, err)
	}
	return err
}

// holds checks the delivery's token, in constant time.
func holds(a Act, token string, tx *sql.Tx) error {
	var digest string
	if err := tx.QueryRow(`SELECT delivery FROM acts WHERE id = ?`, a.ID).Scan(&digest); err != nil {
		return err
	}
	if digest == "" || subtle.ConstantTimeCompare([]byte(digest), []byte(tokenDigest(token))) != 1 {
		return fmt.Errorf("%w: act %s", ErrNotHolder, a.ID)
	}
	return nil
}

// Release gives a delivered act back (its upload did not complete). Only
// the holder's token releases it, unless force (an administrator).
func (s *Store) Release(ctx context.Context, act, token, reason string, force bool, by Actor) (Act, error) {
	a, err := s.Transition(ctx, act, StateReady, by, reason, map[string]any{"forced": force}, func(tx *sql.Tx, a Act) (map[string]any, error) {
		if !force {
			if err := holds(a, token, tx); err != nil {
				return nil, err
			}
		}
		_, err := tx.Exec(`UPDATE acts SET holder = '', delivery = '' WHERE id = ?`, act)
		return nil, err
	})
	return a, deliveryError(err)
}

// Confirm records that ANSC accepted the act's document (stato allegato
// 3), by the holder of its delivery only.
func (s *Store) Confirm(ctx context.Context, act, token, attachment string, by Actor) (Act, error) {
	now := s.now()
	a, err := s.Transition(ctx, act, StateConfirmed, by, "accepted by ANSC", map[string]any{"attachment": attachment, "stato": 3},
		func(tx *sql.Tx, a Act) (map[string]any, error) {
			if err := holds(a, token, tx); err != nil {
				return nil, err
			}
			_, err := tx.Exec(`UPDATE acts SET attachment = ?, confirmed = ?, holder = '', delivery = '' WHERE id = ?`,
				attachment, now.UnixNano(), act)
			return nil, err
		})
	return a, deliveryError(err)
}

// Cancel abandons an act; its pages stay until an administrator deletes it.
func (s *Store) Cancel(ctx context.Context, act, reason string, by Actor) (Act, error) {
	return s.Transition(ctx, act, StateCancelled, by, reason, nil, nil)
}

// Delete removes an act's images at an administrator's request, confirmed
// or not; the journal keeps who did it and why.
func (s *Store) Delete(ctx context.Context, act, reason string, by Actor) (Act, error) {
	return s.Transition(ctx, act, StateDeleted, by, reason, nil, func(tx *sql.Tx, _ Act) (map[string]any, error) {
		n, err := deleteImages(tx, act)
		return map[string]any{"pages": n}, err
	})
}

func deleteImages(tx *sql.Tx, act string) (int64, error) {
	res, err := tx.Exec(`DELETE FROM pages WHERE act = ?`, act)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, deleteDerived(tx, act)
}

// Purge removes the images of acts confirmed before cutoff and marks them
// purged, one journal line each. Only confirmed acts are touched: an act
// never confirmed (an emergency-register act waiting for ANSC included)
// stays until an administrator deletes it.
func (s *Store) Purge(ctx context.Context, cutoff time.Time, by Actor) (int, error) {
	acts, err := s.queryActs(ctx, `WHERE a.state = ? AND a.confirmed < ?`, StateConfirmed, cutoff.UnixNano())
	if err != nil {
		return 0, err
	}
	purged := 0
	for _, a := range acts {
		_, err := s.Transition(ctx, a.ID, StatePurged, by, "retention period ended", nil, func(tx *sql.Tx, _ Act) (map[string]any, error) {
			n, err := deleteImages(tx, a.ID)
			return map[string]any{"pages": n}, err
		})
		if err != nil {
			return purged, err
		}
		purged++
	}
	return purged, nil
}

// Move is Transition with nothing else changed.
func (s *Store) Move(ctx context.Context, act string, to State, by Actor, why string, detail map[string]any) (Act, error) {
	return s.Transition(ctx, act, to, by, why, detail, nil)
}

// EndCapture moves a capturing act on (to captured, printed or draft) and
// keeps how its capture ended: interrupted is the error code that stopped
// it early, "" when it ended as it should. Starting the next capture
// clears it.
func (s *Store) EndCapture(ctx context.Context, act string, to State, by Actor, why, interrupted string, detail map[string]any) (Act, error) {
	return s.Transition(ctx, act, to, by, why, detail, func(tx *sql.Tx, a Act) (map[string]any, error) {
		if a.State != StateCapturing {
			return nil, &TransitionError{Act: act, From: a.State, To: to}
		}
		_, err := tx.Exec(`UPDATE acts SET interrupted = ? WHERE id = ?`, interrupted, act)
		return map[string]any{"interrupted": interrupted}, err
	})
}

// MarkPrinted keeps the sheets printed for an act (their layout and the
// stamped PDF) and moves it to printed, in one transaction.
func (s *Store) MarkPrinted(ctx context.Context, act string, layout, pdf []byte, by Actor) (Act, error) {
	return s.Transition(ctx, act, StatePrinted, by, "sheets printed with page codes", map[string]any{"bytes": len(pdf)},
		func(tx *sql.Tx, _ Act) (map[string]any, error) {
			if err := s.putDocument(tx, Document{Act: act, Name: PrintedLayout, MediaType: "application/vnd.autografo.layout+json"}, layout); err != nil {
				return nil, err
			}
			if err := s.putDocument(tx, Document{Act: act, Name: PrintedSheets, MediaType: "application/pdf"}, pdf); err != nil {
				return nil, err
			}
			_, err := tx.Exec(`UPDATE acts SET printed = 1 WHERE id = ?`, act)
			return nil, err
		})
}

// PrintedSheets names the document that holds an act's printed sheets.
const PrintedSheets = "fogli-da-firmare.pdf"

// ReplaceReadyDocument makes d the upload-ready document of a ready act
// (the same pages, now with the officer's attestation), journaled.
func (s *Store) ReplaceReadyDocument(ctx context.Context, d Document, data []byte, by Actor) (Document, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := sha256.Sum256(data)
	d.SHA256, d.Size = hex.EncodeToString(sum[:]), int64(len(data))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.actIn(tx, d.Act)
		if err != nil {
			return err
		}
		if a.State != StateReady {
			return &TransitionError{Act: d.Act, From: a.State, To: StateReady}
		}
		if err := s.putDocument(tx, d, data); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE acts SET document = ? WHERE id = ?`, d.Name, d.Act); err != nil {
			return err
		}
		return s.journal(tx, s.now(), by, d.Act, "document", map[string]any{"name": d.Name, "sha256": d.SHA256, "bytes": d.Size, "replaces": a.Document})
	})
	return d, err
}
