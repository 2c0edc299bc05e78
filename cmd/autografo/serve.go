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
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/autografo/autografo/agent"
	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/server"
	"github.com/autografo/autografo/scanner/manager"
	"github.com/autografo/autografo/scanner/sheet"
	"github.com/autografo/autografo/webui"
)

// serveFlags are serve's settings, as flags: the configuration files and
// AUTOGRAFO_* variables set the same names.
type serveFlags struct {
	port                        *int
	origins, ticketKeys         stringList
	audience, comune            *string
	stateDir, storeDir          *string
	retention, poll, sessionMax *time.Duration
	sf                          sealFlags
	labelsFile, logLevel        *string
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
	f.poll = fs.Duration("poll", 2*time.Second, "how often to look for scanners")
	f.sessionMax = fs.Duration("session-max", 12*time.Hour, "the longest a browser session lasts, paired or by ticket, before it must authenticate again")
	f.df.register(fs)
	return fs, f
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs, f := newServeFlags("serve", stderr)
	if _, err := configure(fs, args, os.LookupEnv); err != nil {
		if !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "autografo:", err)
		}
		return 2
	}
	port, origins, ticketKeys, audience, comune := f.port, f.origins, f.ticketKeys, f.audience, f.comune
	stateDir, storeDir, retention, sf := f.stateDir, f.storeDir, f.retention, &f.sf
	labelsFile, logLevel, logJSON, poll, sessionMax, df := f.labelsFile, f.logLevel, f.logJSON, f.poll, f.sessionMax, &f.df

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "autografo: bad --log-level %q\n", *logLevel)
		return 2
	}
	hopts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	if *logJSON {
		log = slog.New(slog.NewJSONHandler(stderr, hopts))
	} else {
		log = slog.New(slog.NewTextHandler(stderr, hopts))
	}

	drivers, err := df.build(log)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 2
	}
	defer closeDrivers(drivers)
	if len(drivers) == 0 {
		log.Warn("no scanner drivers enabled: use --sim for the simulated scanner or --saned for SANE scanners")
	}

	var keys []auth.TicketKey
	var tickets *auth.Verifier
	for _, kv := range ticketKeys {
		id, path, ok := strings.Cut(kv, "=")
		if !ok || id == "" {
			fmt.Fprintf(stderr, "autografo: --ticket-key %q: want ID=FILE\n", kv)
			return 2
		}
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "autografo:", err)
			return 2
		}
		k, err := auth.ParsePublicKey(string(data))
		if err != nil {
			fmt.Fprintf(stderr, "autografo: --ticket-key %s: %v\n", id, err)
			return 2
		}
		keys = append(keys, auth.TicketKey{ID: id, Key: k})
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The pairing origins are known once the port is: the server is built
	// with a Pairing that learns them after Listen.
	operator := "operatore locale"
	if u, err := user.Current(); err == nil {
		operator = u.Username
	}
	st, err := openStore(*storeDir)
	if err != nil {
		log.Error("cannot open the store", "dir", *storeDir, "err", err)
		return 1
	}
	defer st.Close()
	// Used tickets are kept in the store: a ticket copied in transit is
	// refused after a restart too, within its life.
	tickets, err = auth.NewVerifier(auth.TicketConfig{Keys: keys, Audience: *audience, Comune: *comune, Replays: st, SessionTTL: *sessionMax})
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 2
	}
	secret := newSecret()
	mgr := manager.New(drivers, manager.Options{PollInterval: *poll, Logger: log})
	authSvc := &auth.Service{Tickets: tickets}
	sealer, attester, err := sf.open()
	if err != nil {
		log.Error("bad signing configuration", "err", err)
		return 2
	}
	var rules []sheet.LabelRule
	if *labelsFile != "" {
		b, err := os.ReadFile(*labelsFile)
		if err == nil {
			err = json.Unmarshal(b, &rules)
		}
		if err != nil || len(rules) == 0 {
			log.Error("bad --signature-labels", "file", *labelsFile, "err", err)
			return 2
		}
	}
	opts := agent.Options{Logger: log, Version: version, Auth: authSvc, Store: st, Retention: *retention, Sealer: sealer, Office: sf.office,
		LabelRules: rules,
		Layout:     layoutBoxes, LayoutDir: filepath.Join(*storeDir, "layouts")}
	opts.Printed = df.simPrinted(ctx, log)
	if attester != nil {
		defer attester.Close()
		opts.Attester = attester
		log.Info("attestations of conformity enabled", "officer", attester.Name())
	}
	ag := agent.New(mgr, opts)
	// Acts a stop or a crash interrupted carry on before anyone connects:
	// captures that were running end, pages left are analysed.
	if err := ag.Recover(ctx); err != nil {
		log.Error("cannot resume the acts in the store", "err", err)
		return 1
	}
	srvOpts := server.Options{Port: *port, AllowedOrigins: origins, Logger: log, AdminSecret: secret}
	srv, err := server.New(ag, webui.FS(), srvOpts)
	if err != nil {
		log.Error("bad configuration", "err", err)
		return 2
	}
	if err := srv.Listen(); err != nil {
		log.Error("cannot listen", "err", err)
		return 1
	}
	pairing := auth.NewPairing(auth.PairingConfig{Origins: srv.PageOrigins(), Operator: operator, Comune: *comune, SessionTTL: *sessionMax})
	authSvc.Pairing = pairing
	srv.SetPairing(pairing)
	runtimePath, err := writeRuntime(*stateDir, runtimeInfo{URL: srv.URL(), Port: srv.Port(), PID: os.Getpid(), Secret: secret})
	if err != nil {
		log.Error("cannot write the runtime file", "err", err)
		return 1
	}
	defer os.Remove(runtimePath)

	mgrDone := make(chan struct{})
	go func() { defer close(mgrDone); _ = mgr.Run(ctx) }()
	retentionDone := make(chan struct{})
	go func() { defer close(retentionDone); ag.RunRetention(ctx, time.Hour) }()
	// The first discovery round finishes before the URL is printed, so the
	// page that opens finds the scanners already listed.
	select {
	case <-mgr.Ready():
	case <-time.After(5 * time.Second):
		log.Warn("first scanner discovery is slow; serving anyway")
	case <-ctx.Done():
	}

	log.Info("autografo started", "version", version, "url", srv.URL(), "drivers", len(drivers),
		"ticket_keys", len(keys), "allowed_origins", len(origins))
	// A one-time pairing link, through a launch page only this user can
	// read: whoever opens it first is paired; `autografo open` makes a new
	// one. The token itself never reaches the output, which may be a
	// journal other users read.
	token, _ := pairing.NewToken()
	fmt.Fprintf(stdout, "Autografo è pronto su %s\n", srv.URL())
	if launch, err := writeLaunch(*stateDir, srv.URL()+"#pair="+token); err != nil {
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
	if serveErr != nil {
		log.Error("server failed", "err", serveErr)
		return 1
	}
	log.Info("stopped")
	return 0
}
