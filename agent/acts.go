package agent

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/store"
)

// roles is every signer role Autografo knows, in the order an act lists
// them: the couple (or the parties, or the declarant), the witnesses, the
// interpreters, the officer last. label is what a printed sheet puts
// beside the box; noun names the role in a message ("secondo testimone"),
// of names the signer without a name ("della sposa").
var roles = []struct {
	role, label, noun, of string
}{
	{"sposo", "Lo sposo", "sposo", "dello sposo"},
	{"sposa", "La sposa", "sposa", "della sposa"},
	{"parte1", "La prima parte", "prima parte", "della prima parte"},
	{"parte2", "La seconda parte", "seconda parte", "della seconda parte"},
	{"dichiarante", "Il dichiarante", "dichiarante", "del dichiarante"},
	{"titolare", "Il titolare", "titolare", "del titolare"},
	{"testimone1", "Il testimone", "primo testimone", "del primo testimone"},
	{"testimone2", "Il testimone", "secondo testimone", "del secondo testimone"},
	{"testimone3", "Il testimone", "terzo testimone", "del terzo testimone"},
	{"testimone4", "Il testimone", "quarto testimone", "del quarto testimone"},
	{"interprete", "L'interprete", "interprete", "dell'interprete"},
	{"interprete2", "L'interprete", "secondo interprete", "del secondo interprete"},
	{"ufficiale", "L'Ufficiale dello Stato Civile", "ufficiale dello stato civile", "dell'ufficiale dello stato civile"},
}

// actKinds are the acts the reference page offers and the signers each
// asks for; an app may open acts of other kinds with other roles.
var actKinds = func() []protocol.ActKind {
	declared := func(kind, name string) protocol.ActKind {
		return protocol.ActKind{Kind: kind, Name: name, Roles: []string{"dichiarante", "ufficiale"},
			Extra: []string{"testimone1", "testimone2", "interprete"}}
	}
	couple := func(kind, name, one, two string) protocol.ActKind {
		return protocol.ActKind{Kind: kind, Name: name, Roles: []string{one, two, "testimone1", "testimone2", "ufficiale"},
			Extra: []string{"interprete", "interprete2"}}
	}
	return []protocol.ActKind{
		couple("matrimonio", "Matrimonio", "sposo", "sposa"),
		couple("unione_civile", "Unione civile", "parte1", "parte2"),
		declared("nascita", "Nascita"), declared("morte", "Morte"), declared("cittadinanza", "Cittadinanza"),
		{Kind: "carta_identita", Name: "Carta d'identità a domicilio", Roles: []string{"titolare", "ufficiale"}, Extra: []string{"interprete"}},
		{Kind: "altro", Name: "Altro", Roles: []string{"dichiarante", "ufficiale"},
			Extra: []string{"testimone1", "testimone2", "testimone3", "testimone4", "interprete"}},
	}
}()

// roleNames names every role as the page shows it: "Primo testimone".
var roleNames = func() []protocol.Role {
	out := make([]protocol.Role, len(roles))
	for i, r := range roles {
		out[i] = protocol.Role{Role: r.role, Name: capitalized(r.noun)}
	}
	return out
}()

func roleRank(role string) int {
	for i, r := range roles {
		if r.role == role {
			return i
		}
	}
	// A role the app invented goes after the interpreters, before the
	// officer.
	return len(roles) - 1
}

func roleLabel(role string) string {
	for _, r := range roles {
		if r.role == role {
			return r.label
		}
	}
	return role
}

// whoOf names a signer in a message: "di Chiara Colombo (secondo
// testimone)", or "del secondo testimone" when the act has no name yet.
func whoOf(s store.Signer) string {
	noun, of := s.Role, "di "+s.Role
	for _, r := range roles {
		if r.role == s.Role {
			noun, of = r.noun, r.of
		}
	}
	name := strings.TrimSpace(s.Nome + " " + s.Cognome)
	if name == "" {
		return of
	}
	return "di " + name + " (" + noun + ")"
}

// displayName names a signer on the page: "Chiara Colombo (secondo
// testimone)", or "Secondo testimone" without a name; the names are the
// act's, never what a printed box says.
func displayName(s store.Signer) string {
	noun := s.Role
	for _, r := range roles {
		if r.role == s.Role {
			noun = r.noun
		}
	}
	if name := strings.TrimSpace(s.Nome + " " + s.Cognome); name != "" {
		return name + " (" + noun + ")"
	}
	return capitalized(noun)
}

func capitalized(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func displayNames(signers []store.Signer) map[string]string {
	m := make(map[string]string, len(signers))
	for _, s := range signers {
		m[s.Role] = displayName(s)
	}
	return m
}

var (
	roleName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	// A codice fiscale: 16 letters and digits (the omocodia variants
	// replace digits with letters, so the pattern stays loose).
	codiceFiscale = regexp.MustCompile(`^[A-Z0-9]{16}$`)
)

// openAct validates and stores a new act.
func (a *Agent) openAct(ctx context.Context, req *protocol.ActOpen, who actor, comune string) (store.Act, error) {
	bad := func(format string, args ...any) (store.Act, error) {
		return store.Act{}, fmt.Errorf("%w: "+format, append([]any{errBadRequest}, args...)...)
	}
	if req.Kind == "" || len(req.Kind) > 64 || len(req.Ref) > 128 || len(req.Signers) > 32 || len(req.Register) > 64 {
		return bad("act kind, ref, register or signers out of bounds")
	}
	if req.Emergency && strings.TrimSpace(req.Register) == "" {
		return bad("an emergency-register act needs its register number")
	}
	signers := make([]store.Signer, 0, len(req.Signers))
	seen := map[string]bool{}
	for _, s := range req.Signers {
		nome, cognome := strings.TrimSpace(s.Nome), strings.TrimSpace(s.Cognome)
		cf := strings.ToUpper(strings.TrimSpace(s.CodiceFiscale))
		switch {
		case !roleName.MatchString(s.Role):
			return bad("signer role %q", s.Role)
		case seen[s.Role]:
			return bad("signer role %q twice", s.Role)
		case utf8.RuneCountInString(nome) > 100 || utf8.RuneCountInString(cognome) > 100 || !utf8.ValidString(nome+cognome):
			return bad("signer %s: name out of bounds", s.Role)
		case cf != "" && !codiceFiscale.MatchString(cf):
			return bad("signer %s: codice fiscale %q", s.Role, cf)
		}
		seen[s.Role] = true
		signers = append(signers, store.Signer{Role: s.Role, Nome: nome, Cognome: cognome, CodiceFiscale: cf, Label: roleLabel(s.Role)})
	}
	slices.SortStableFunc(signers, func(x, y store.Signer) int { return cmp.Compare(roleRank(x.Role), roleRank(y.Role)) })
	sa := store.Act{ID: newID("act-"), Kind: req.Kind, Ref: req.Ref, Operator: who.by.Operator, Comune: comune,
		Emergency: req.Emergency, Register: strings.TrimSpace(req.Register)}
	if req.Emergency {
		sa.RegisterTime = time.Now()
	}
	if req.RegisterTime != "" {
		if !who.perms.Has(auth.Admin) {
			return store.Act{}, fmt.Errorf("%w: setting an emergency act's register time needs admin", errForbidden)
		}
		t, err := time.Parse(time.RFC3339, req.RegisterTime)
		if err != nil || !req.Emergency {
			return bad("registerTime %q: RFC 3339, for an emergency-register act", req.RegisterTime)
		}
		sa.RegisterTime = t
	}
	if err := a.opts.Store.CreateAct(ctx, sa, signers, who.by); err != nil {
		return store.Act{}, storeErr(err)
	}
	stored, err := a.opts.Store.Act(ctx, sa.ID)
	if err != nil {
		return store.Act{}, storeErr(err)
	}
	a.log.Info("act opened", "act", sa.ID, "kind", sa.Kind, "comune", comune, "signers", len(signers), "emergency", sa.Emergency)
	return stored, nil
}

// record is everything the store holds that decides an act's document and
// whether it is ready.
type record struct {
	act       store.Act
	signers   []store.Signer
	pages     []store.Page
	decisions []store.Decision
}

func (a *Agent) record(ctx context.Context, act store.Act) (record, error) {
	r := record{act: act}
	var err error
	if r.signers, err = a.opts.Store.Signers(ctx, act.ID); err != nil {
		return r, err
	}
	if r.pages, err = a.opts.Store.Pages(ctx, act.ID); err != nil {
		return r, err
	}
	if r.decisions, err = a.opts.Store.Decisions(ctx, act.ID); err != nil {
		return r, err
	}
	return r, nil
}

// fixed reports whether the act's document pages are fixed in the store
// (checked and after); before, they are worked out from the analyses.
func (r record) fixed() bool {
	switch r.act.State {
	case store.StateChecked, store.StateReady, store.StateDelivered, store.StateConfirmed:
		return true
	}
	return false
}

// documentPages are the pages that go in the document, in their order.
func (r record) documentPages() []store.Page {
	order := store.PageOrder{}
	if r.fixed() {
		for _, p := range r.pages {
			if p.Position > 0 {
				order[p.Index] = p.Position
			}
		}
	} else {
		order, _ = documentOrder(r.pages)
	}
	var out []store.Page
	for _, p := range r.pages {
		if pos, ok := order[p.Index]; ok {
			p.Position = pos
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(x, y store.Page) int { return cmp.Compare(x.Position, y.Position) })
	return out
}

// signerStatus is where one signer stands, from the verdicts on the
// document's pages and the officer's exceptions.
func (r record) signerStatus(s store.Signer, inDocument map[int]bool) protocol.Signer {
	out := protocol.Signer{Role: s.Role, Nome: s.Nome, Cognome: s.Cognome, CodiceFiscale: s.CodiceFiscale, Label: s.Label,
		Display: displayName(s)}
	if s.Unable {
		out.Unable = &protocol.Exception{Reason: s.UnableReason, By: s.DecidedBy}
	}
	if s.Override {
		out.Override = &protocol.Exception{Reason: s.OverrideReason, By: s.DecidedBy}
	}
	verdict := ""
	for _, d := range r.decisions {
		if d.Role != s.Role || !inDocument[d.Page] {
			continue
		}
		out.Pages = append(out.Pages, d.Page)
		out.Reasons = append(out.Reasons, d.Reasons...)
		// The worst box decides: one empty box is a missing signature.
		switch {
		case d.Verdict == "empty":
			verdict = "empty"
		case d.Verdict == "doubtful" && verdict != "empty":
			verdict = "doubtful"
		case d.Verdict == "signed" && verdict == "":
			verdict = "signed"
		case d.Verdict != "signed" && d.Verdict != "doubtful" && d.Verdict != "empty":
			verdict = "doubtful" // a verdict this agent does not know is not a signature
		}
	}
	slices.Sort(out.Reasons)
	out.Reasons = slices.Compact(out.Reasons)
	switch {
	case s.Unable:
		out.Status = protocol.SignerUnable
	case verdict == "signed":
		out.Status = protocol.SignerSigned
	case s.Override:
		out.Status = protocol.SignerConfirmed
	case verdict == "empty":
		out.Status = protocol.SignerMissing
	case verdict == "doubtful":
		out.Status = protocol.SignerDoubtful
	default:
		out.Status = protocol.SignerUnchecked
	}
	return out
}

// view is the act as sessions see it: its signers' standing and what
// keeps it from being ready.
func (r record) view() protocol.Act {
	a := r.act
	out := protocol.Act{ID: a.ID, Kind: a.Kind, Ref: a.Ref, Comune: a.Comune, Operator: a.Operator, Pages: a.Pages,
		State: string(a.State), Emergency: a.Emergency, Register: a.Register, Attachment: a.Attachment,
		Created: a.Created.UTC().Format(time.RFC3339), Signers: []protocol.Signer{}}
	if !a.RegisterTime.IsZero() {
		out.RegisterTime = a.RegisterTime.UTC().Format(time.RFC3339)
	}
	if a.Interrupted != "" {
		e := protocol.NewError(a.Interrupted)
		out.Interrupted = &e
	}
	docPages := r.documentPages()
	inDocument := map[int]bool{}
	for _, p := range docPages {
		inDocument[p.Index] = true
		out.Order = append(out.Order, p.Index)
	}
	analysed := true
	for _, p := range r.pages {
		analysed = analysed && p.Analysed
		if p.Removed {
			out.Removed = append(out.Removed, p.Index)
		}
	}
	_, out.Missing = documentOrder(r.pages)
	block := func(code, role string, page int, who string) {
		out.Blockers = append(out.Blockers, protocol.Blocker{Code: code, Role: role, Page: page, Message: protocol.Format(code, who, page)})
	}
	switch {
	case len(r.pages) == 0:
		block(protocol.BlockerNoPages, "", 0, "")
	case !analysed:
		block(protocol.BlockerAnalysing, "", 0, "")
	}
	for _, n := range out.Missing {
		block(protocol.BlockerSheetMissing, "", n, "")
	}
	for _, s := range r.signers {
		st := r.signerStatus(s, inDocument)
		if !analysed || len(r.pages) == 0 {
			st.Status = protocol.SignerPending
		}
		out.Signers = append(out.Signers, st)
		if strings.TrimSpace(s.Nome+s.Cognome) == "" {
			block(protocol.BlockerUnnamed, s.Role, 0, whoOf(s))
		}
		switch st.Status {
		case protocol.SignerMissing:
			block(protocol.BlockerSignatureEmpty, s.Role, 0, whoOf(s))
		case protocol.SignerDoubtful:
			block(protocol.BlockerSignatureDoubt, s.Role, 0, whoOf(s))
		case protocol.SignerUnchecked:
			block(protocol.BlockerSignatureUnseen, s.Role, 0, whoOf(s))
		}
	}
	return out
}

// firmatari are the signers R006's listaFirmatari names, derived from the
// record: those who signed (or whose signature the officer confirmed),
// never one found unsigned; and the officer's exceptions beside them.
func (r record) firmatari() ([]protocol.Firmatario, []protocol.Eccezione) {
	inDocument := map[int]bool{}
	for _, p := range r.documentPages() {
		inDocument[p.Index] = true
	}
	lista := []protocol.Firmatario{}
	var ecc []protocol.Eccezione
	for _, s := range r.signers {
		st := r.signerStatus(s, inDocument)
		switch st.Status {
		case protocol.SignerSigned:
			lista = append(lista, protocol.Firmatario{Nome: s.Nome, Cognome: s.Cognome, CodiceFiscale: s.CodiceFiscale})
		case protocol.SignerConfirmed:
			lista = append(lista, protocol.Firmatario{Nome: s.Nome, Cognome: s.Cognome, CodiceFiscale: s.CodiceFiscale})
			ecc = append(ecc, protocol.Eccezione{Ruolo: s.Role, Nome: s.Nome, Cognome: s.Cognome, Tipo: "verificata",
				Motivo: s.OverrideReason, Da: s.DecidedBy})
		case protocol.SignerUnable:
			ecc = append(ecc, protocol.Eccezione{Ruolo: s.Role, Nome: s.Nome, Cognome: s.Cognome, Tipo: "non_puo_firmare",
				Motivo: s.UnableReason, Da: s.DecidedBy})
		}
	}
	return lista, ecc
}

// announce tells every session that sees the act where it stands now:
// even during a shutdown, a change that was kept is told.
func (a *Agent) announce(ctx context.Context, act store.Act) {
	v, err := a.viewOf(context.WithoutCancel(ctx), act)
	if err != nil {
		a.log.Warn("describing an act failed", "act", act.ID, "err", err)
		return
	}
	a.publishAct(act.Comune, v)
}

// publishAct sends act.changed with the act as sessions see it.
func (a *Agent) publishAct(comune string, v protocol.Act) {
	a.publish(comune, auth.View, protocol.ActChanged{Envelope: protocol.Envelope{Type: protocol.TypeActChanged}, Act: v})
}

// viewOf is an act as sessions see it, its document included once ready.
func (a *Agent) viewOf(ctx context.Context, act store.Act) (protocol.Act, error) {
	rec, err := a.record(ctx, act)
	if err != nil {
		return protocol.Act{}, err
	}
	v := rec.view()
	a.mu.Lock()
	for _, c := range a.captures {
		if c.act == act.ID {
			v.Capture = c.id
		}
	}
	a.mu.Unlock()
	if act.Document != "" {
		if d, err := a.opts.Store.DocumentMeta(ctx, act.ID, act.Document); err == nil {
			if info, ok := documentInfoOf(d); ok {
				v.Document = &info
			}
		}
	}
	return v, nil
}
