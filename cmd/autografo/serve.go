package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/autografo/autografo/agent"
	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/private"
	"github.com/autografo/autografo/agent/seal"
	"github.com/autografo/autografo/agent/server"
	"github.com/autografo/autografo/scanner/manager"
	"github.com/autografo/autografo/scanner/sheet"
	"github.com/autografo/autografo/webui"
)

// serveFlags are serve's settings, as flags: the configuration files and
// AUTOGRAFO_* variables set the same names.
type serveFlags struct {
	port, ports                 *int
	origins, ticketKeys         stringList
	audience, comune            *string
	stateDir, storeDir          *string
	retention, poll, sessionMax *time.Duration
	sf                          sealFlags
	labelsFile, logLevel        *string
	logFile                     *string
	logJSON                     *bool
	df                          driverFlags
}

// newServeFlags is serve's flag set, named for the command that reads
// them (doctor and config read serve's settings too).
func newServeFlags(name string, stderr io.Writer) (*flag.FlagSet, *serveFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &serveFlags{}
	f.port = fs.Int("port", server.DefaultPort, "port on 127.0.0.1 and [::1] (0 picks a free one)")
	f.ports = fs.Int("ports", server.DefaultPorts, "how many ports from --port to try in turn while each is held (by another user's agent on a shared machine)")
	fs.Var(&f.origins, "allow-origin", "origin of an act-drafting app allowed to connect, exact (repeatable)")
	fs.Var(&f.ticketKeys, "ticket-key", "ID=FILE: Ed25519 public key (PEM) of an act-drafting backend that signs session tickets (repeatable)")
	f.audience = fs.String("ticket-audience", "autografo", "audience a session ticket must name")
	f.comune = fs.String("comune", "", "code of the comune this workstation serves: tickets of another comune are refused, and paired sessions act for it")
	f.stateDir = fs.String("state-dir", defaultStateDir(), "per-user directory for the runtime file")
	f.storeDir = fs.String("store", defaultStoreDir(), "directory of the encrypted store and its key")
	f.retention = fs.Duration("retention", 7*24*time.Hour, "how long images stay after ANSC confirmed the act")
	f.sf.register(fs)
	f.labelsFile = fs.String("signature-labels", "", `JSON rules for finding signers' boxes in a preview's text, e.g. [{"label": "Lo sposo", "role": "sposo"}] (default: the Italian labels)`)
	f.logLevel = fs.String("log-level", "info", "debug, info, warn or error")
	f.logJSON = fs.Bool("log-json", false, "log as JSON lines (for journald or a collector)")
	f.logFile = fs.String("log-file", defaultLogFile(), "append the log to this file (private to the user) instead of standard error: for an agent without a console, as Windows starts it at logon")
	f.poll = fs.Duration("poll", 2*time.Second, "how often to look for scanners")
	f.sessionMax = fs.Duration("session-max", 12*time.Hour, "the longest a browser session lasts, paired or by ticket, before it must authenticate again")
	f.df.register(fs)
	return fs, f
}

// serve runs the agent: its settings parsed, its parts built, then run
// until a signal.
func serve(args []string, stdout, stderr io.Writer) int {
	f, log, code := parseServe(args, stderr)
	if log == nil {
		return code
	}
	a, code := buildServe(f, log, stderr)
	defer a.close()
	if code != 0 {
		return code
	}
	return a.run(stdout)
}

// parseServe reads serve's settings (the files, the variables, the
// flags) and makes its logger; a nil logger means stop with code.
func parseServe(args []string, stderr io.Writer) (*serveFlags, *slog.Logger, int) {
	fs, f := newServeFlags("serve", stderr)
	if _, err := configure(fs, args, os.LookupEnv); err != nil {
		if !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "autografo:", err)
		}
		return nil, nil, 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*f.logLevel)); err != nil {
		fmt.Fprintf(stderr, "autografo: bad --log-level %q\n", *f.logLevel)
		return nil, nil, 2
	}
	hopts := &slog.HandlerOptions{Level: level}
	out := stderr
	if *f.logFile != "" {
		// Open for the life of the process: the log is written until exit.
		lf, err := openLogFile(*f.logFile)
		if err != nil {
			fmt.Fprintln(stderr, "autografo: --log-file:", err)
			return nil, nil, 2
		}
		out = lf
	}
	if *f.logJSON {
		return f, slog.New(slog.NewJSONHandler(out, hopts)), 0
	}
	return f, slog.New(slog.NewTextHandler(out, hopts)), 0
}

// windowless is set at link time (-X main.windowless=true) in the build
// that has no console, autografo-logon.exe: its standard error goes
// nowhere, so its log goes to a file unless told otherwise.
var windowless string

func defaultLogFile() string {
	if windowless == "true" {
		return filepath.Join(defaultStateDir(), "autografo.log")
	}
	return ""
}

// openLogFile opens the log for appending, private to the user: the log
// names operators and acts. A folder that is missing is made; one that
// exists is left as it is (it may be shared, as /var/log is).
func openLogFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := private.Restrict(path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// runningAgent is the agent built and listening: what run drives, and
// what close releases.
type runningAgent struct {
	log      *slog.Logger
	ctx      context.Context // ends on SIGINT or SIGTERM
	stop     context.CancelFunc
	drivers  int
	keys     int
	origins  int
	stateDir string
	mgr      *manager.Manager
	ag       *agent.Agent
	srv      *server.Server
	pairing  *auth.Pairing
	tsaRetry time.Duration // how often documents waiting for a timestamp are tried
	closers  []func()      // run in reverse by close
}

func (a *runningAgent) onClose(f func()) { a.closers = append(a.closers, f) }

func (a *runningAgent) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// buildServe opens the drivers, the store, the signers, the agent and the
// server, and listens; a code other than 0 means stop (after close).
func buildServe(f *serveFlags, log *slog.Logger, stderr io.Writer) (*runningAgent, int) {
	a := &runningAgent{log: log, stateDir: *f.stateDir, origins: len(f.origins)}
	port, ports, origins, ticketKeys, audience, comune := f.port, f.ports, f.origins, f.ticketKeys, f.audience, f.comune
	stateDir, storeDir, retention, sf := f.stateDir, f.storeDir, f.retention, &f.sf
	labelsFile, poll, sessionMax, df := f.labelsFile, f.poll, f.sessionMax, &f.df
	drivers, err := df.build(log)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return a, 2
	}
	a.onClose(func() { closeDrivers(drivers) })
	a.drivers = len(drivers)
	if len(drivers) == 0 {
		log.Warn("no scanner drivers enabled: use --sim for the simulated scanner or --saned for SANE scanners")
	}

	var keys []auth.TicketKey
	var tickets *auth.Verifier
	for _, kv := range ticketKeys {
		id, path, ok := strings.Cut(kv, "=")
		if !ok || id == "" {
			fmt.Fprintf(stderr, "autografo: --ticket-key %q: want ID=FILE\n", kv)
			return a, 2
		}
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "autografo:", err)
			return a, 2
		}
		k, err := auth.ParsePublicKey(string(data))
		if err != nil {
			fmt.Fprintf(stderr, "autografo: --ticket-key %s: %v\n", id, err)
			return a, 2
		}
		keys = append(keys, auth.TicketKey{ID: id, Key: k})
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a.ctx, a.stop = ctx, stop
	a.onClose(stop)

	// The pairing origins are known once the port is: the server is built
	// with a Pairing that learns them after Listen.
	operator := currentUser()
	// One agent a store: a second one of the same user would otherwise
	// start on the next free port and work on the same acts beside it.
	if err := private.MkdirAll(*storeDir); err != nil {
		log.Error("cannot make the store's folder", "dir", *storeDir, "err", err)
		return a, 1
	}
	lock, err := private.Lock(filepath.Join(*storeDir, storeLockFile))
	if err != nil {
		if errors.Is(err, private.ErrLocked) {
			where := "another Autografo"
			if info, rerr := readRuntime(*stateDir); rerr == nil {
				where = fmt.Sprintf("Autografo at %s (process %d)", info.URL, info.PID)
			}
			log.Error("this store is already in use: "+where+" runs on it; open it with `autografo open`, or stop it first", "dir", *storeDir)
		} else {
			log.Error("cannot lock the store", "dir", *storeDir, "err", err)
		}
		return a, 1
	}
	a.onClose(func() { lock.Close() })
	st, err := openStore(*storeDir)
	if err != nil {
		log.Error("cannot open the store", "dir", *storeDir, "err", err)
		return a, 1
	}
	a.onClose(func() { st.Close() })
	// Used tickets are kept in the store: a ticket copied in transit is
	// refused after a restart too, within its life.
	tickets, err = auth.NewVerifier(auth.TicketConfig{Keys: keys, Audience: *audience, Comune: *comune, Replays: st, SessionTTL: *sessionMax})
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return a, 2
	}
	secret := newSecret()
	mgr := manager.New(drivers, manager.Options{PollInterval: *poll, Logger: log})
	authSvc := &auth.Service{Tickets: tickets}
	signing, err := sf.open(*storeDir, time.Now())
	if err != nil {
		log.Error("bad signing configuration", "err", err)
		return a, 2
	}
	a.onClose(signing.close)
	if signing.attesterDown != nil {
		log.Error("attestations of conformity disabled: the officer's card refused the PIN; write the right PIN to the PIN file, then restart",
			"pin_file", sf.pinFile, "err", signing.attesterDown)
	}
	if signing.tsa != nil {
		log.Info("signatures carry RFC 3161 timestamps", "tsa", signing.tsa.Authority(), "timeout", sf.tsaTimeout)
	}
	a.tsaRetry = sf.tsaRetry
	for _, k := range []struct {
		use string
		s   *seal.Sealer
	}{{"seal", signing.sealer}, {"attestation", signing.attester}} {
		if k.s != nil && k.s.Unfit() != nil {
			log.Error("this certificate cannot sign documents: every document will fail until it is replaced", "use", k.use, "err", k.s.Unfit())
		}
	}
	attestDocs, err := sf.attestDocuments()
	if err != nil {
		log.Error("bad --attest-documents", "err", err)
		return a, 2
	}
	var rules []sheet.LabelRule
	if *labelsFile != "" {
		b, err := os.ReadFile(*labelsFile)
		if err == nil {
			err = json.Unmarshal(b, &rules)
		}
		if err != nil || len(rules) == 0 {
			log.Error("bad --signature-labels", "file", *labelsFile, "err", err)
			return a, 2
		}
	}
	opts := agent.Options{Logger: log, Version: version, Auth: authSvc, Store: st, Retention: *retention, Office: sf.office,
		LabelRules: rules,
		Layout:     layoutBoxes, LayoutDir: filepath.Join(*storeDir, "layouts")}
	opts.Printed = df.simPrinted(ctx, log)
	opts.AttesterDown = signing.attesterDown
	opts.AttestGender, opts.AttestDocuments = string(sf.gender), attestDocs
	if signing.sealer != nil { // never a nil pointer in the interface
		opts.Sealer = signing.sealer
	}
	if signing.attester != nil {
		opts.Attester = signing.attester
		log.Info("attestations of conformity enabled", "officer", signing.attester.Name())
	}
	ag := agent.New(mgr, opts)
	// Acts a stop or a crash interrupted carry on before anyone connects:
	// captures that were running end, pages left are analysed.
	if err := ag.Recover(ctx); err != nil {
		log.Error("cannot resume the acts in the store", "err", err)
		return a, 1
	}
	srvOpts := server.Options{Port: *port, Ports: *ports, AllowedOrigins: origins, Logger: log, AdminSecret: secret, Stop: stop}
	srv, err := server.New(ag, webui.FS(), srvOpts)
	if err != nil {
		log.Error("bad configuration", "err", err)
		return a, 2
	}
	if err := srv.Listen(); err != nil {
		log.Error("cannot listen", "err", err)
		return a, 1
	}
	pairing := auth.NewPairing(auth.PairingConfig{Origins: srv.PageOrigins(), Operator: operator, Comune: *comune, SessionTTL: *sessionMax})
	authSvc.Pairing = pairing
	srv.SetPairing(pairing)
	runtimePath, err := writeRuntime(*stateDir, runtimeInfo{URL: srv.URL(), Port: srv.Port(), PID: os.Getpid(), Secret: secret})
	if err != nil {
		log.Error("cannot write the runtime file", "err", err)
		return a, 1
	}
	a.onClose(func() { os.Remove(runtimePath) })
	a.keys, a.mgr, a.ag, a.srv, a.pairing = len(keys), mgr, ag, srv, pairing
	return a, 0
}

// run serves until a signal, then shuts down: the captures end first, so
// that each browser is told why its scan stopped before the socket closes.
func (a *runningAgent) run(stdout io.Writer) int {
	ctx, stop, log, mgr, ag, srv, pairing := a.ctx, a.stop, a.log, a.mgr, a.ag, a.srv, a.pairing

	mgrDone := make(chan struct{})
	go func() { defer close(mgrDone); _ = mgr.Run(ctx) }()
	retentionDone := make(chan struct{})
	go func() { defer close(retentionDone); ag.RunRetention(ctx, time.Hour) }()
	timestampsDone := make(chan struct{})
	go func() { defer close(timestampsDone); ag.RunTimestamps(ctx, a.tsaRetry) }()
	// The first discovery round finishes before the URL is printed, so the
	// page that opens finds the scanners already listed.
	select {
	case <-mgr.Ready():
	case <-time.After(5 * time.Second):
		log.Warn("first scanner discovery is slow; serving anyway")
	case <-ctx.Done():
	}

	log.Info("autografo started", "version", version, "url", srv.URL(), "drivers", a.drivers,
		"ticket_keys", a.keys, "allowed_origins", a.origins)
	// A one-time pairing link, through a launch page only this user can
	// read: whoever opens it first is paired; `autografo open` makes a new
	// one. The token itself never reaches the output, which may be a
	// journal other users read.
	token, _ := pairing.NewToken()
	fmt.Fprintf(stdout, "Autografo è pronto su %s\n", srv.URL())
	if launch, err := writeLaunch(a.stateDir, srv.URL()+"#pair="+token); err != nil {
		log.Warn("cannot write the launch page: pair with a code", "err", err)
	} else {
		fmt.Fprintf(stdout, "Per collegare il browser, aprire: %s\n", launch)
	}
	fmt.Fprintln(stdout, "(oppure aprire l'indirizzo qui sopra e digitare il codice che dà «autografo pair»)")

	// The server outlives the captures: on a signal the captures end first,
	// so that each browser is told why its scan stopped before the socket
	// closes.
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(serveCtx) }()
	var serveErr error
	served := false
	select {
	case <-ctx.Done():
	case serveErr = <-serveDone:
		served = true
	}
	stop()
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ag.Shutdown(shutCtx); err != nil {
		log.Error("shutdown incomplete", "err", err)
	}
	stopServing()
	if !served {
		serveErr = <-serveDone
	}
	<-mgrDone
	<-retentionDone
	<-timestampsDone
	if serveErr != nil {
		log.Error("server failed", "err", serveErr)
		return 1
	}
	log.Info("stopped")
	return 0
}
