// Command ingest-server runs fieldlog's reference ingest server: it
// accepts batches at /api/v1/logs, stores them as JSON lines in a
// directory and, with -otlp, forwards them to an OpenTelemetry Collector.
// It answers as the production backend does (-mode compat, the default),
// or checks the whole client contract (-mode strict). Callers present a
// static token (-token), an OIDC access token of a configured issuer
// (-oidc-issuer), or either.
//
//	ingest-server -listen 127.0.0.1:8080 -store ./logs -token secret
//	ingest-server -listen :8080 -store ./logs -token secret -otlp http://collector:4318/v1/logs
//	ingest-server -listen :8080 -store ./logs -oidc-issuer https://id.example.com/realms/app -oidc-audience fieldlog-ingest
//
// It shuts down gracefully on SIGINT and SIGTERM.
//
// The sessions subcommand is the support view over a store directory, a
// copy say, opened read-only: the sessions of a user, an install, a
// device or an error fingerprint, and one session's timeline, printed or
// served as the server serves them at /sessions:
//
//	ingest-server sessions -store ./logs -device calm-falcon-ridge -since 24h
//	ingest-server sessions -store ./logs -session 0b8e2a9e-…
//	ingest-server sessions -store ./logs -serve 127.0.0.1:8081
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/oidcauth"
	"github.com/soliplex/fieldlog/otlp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr, nil)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode is the process's exit status for run's error: 0 for none and
// for -h, 2 for a flag the flag package has already explained, 1 for
// anything else, which it prints.
func exitCode(err error, stderr io.Writer) int {
	var fe flagError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &fe):
		return 2
	}
	fmt.Fprintln(stderr, "ingest-server:", err)
	return 1
}

// A flagError is a command line the flag package rejected and has
// printed, with the usage.
type flagError struct{ error }

func (e flagError) Unwrap() error { return e.error }

// run serves until ctx ends. ready, when set, receives the address the
// server listens on.
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	if len(args) > 0 && args[0] == "sessions" {
		return runSessions(ctx, args[1:], out, ready)
	}
	fs := flag.NewFlagSet("ingest-server", flag.ContinueOnError)
	fs.SetOutput(out)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	store := fs.String("store", "./fieldlog-logs", "directory of the JSONL store")
	token := fs.String("token", "", "bearer token clients must send (or set FIELDLOG_INGEST_TOKEN)")
	anonymous := fs.Bool("anonymous", false, "accept requests without a token")
	var issuers []string
	fs.Func("oidc-issuer", "accept OIDC access tokens of this issuer URL (its iss); repeat for several", func(s string) error {
		issuers = append(issuers, s)
		return nil
	})
	audience := fs.String("oidc-audience", "", "OIDC: the audience (aud) tokens must carry; empty: not checked")
	userClaim := fs.String("oidc-user-claim", "sub", "OIDC: the claim naming the user, stored as server.user")
	keyLifetime := fs.Duration("oidc-key-lifetime", 24*time.Hour, "OIDC: how long the issuer's keys stay trusted while it cannot be reached")
	publicConfig := fs.Bool("public-config", false, "serve the logging configuration without credentials")
	userRate := fs.Float64("user-rate", 50, "requests per second allowed per authenticated user, across their installs (negative: no limit)")
	userBurst := fs.Int("user-burst", 100, "burst of requests allowed per authenticated user")
	naming := fs.String("naming", "backend", "attribute names of stored and forwarded records: backend (the production backend's) or otel")
	otlpURL := fs.String("otlp", "", "OTLP/HTTP logs URL of an OpenTelemetry Collector to forward to, instead of the JSONL store")
	rate := fs.Float64("rate", 10, "requests per second allowed per install and per session")
	burst := fs.Int("burst", 20, "burst of requests allowed per install and per session")
	config := fs.String("config", "", "JSON file served as the remote logging configuration")
	attachments := fs.String("attachments", "", "directory for diagnostic attachments (empty: disabled)")
	maxBody := fs.Int64("max-body", ingest.DefaultMaxBody, "largest request body in bytes, before and after gzip")
	mode := fs.String("mode", "compat", "compat: the production backend's verdicts; strict: the whole client contract")
	bodyTimeout := fs.Duration("body-timeout", 30*time.Second, "time a client has to send a request body")
	maxConns := fs.Int("max-connections", 1024, "open connections; past it the longest idle is closed")
	keepBytes := fs.Int64("retain-bytes", ingest.DefaultMaxTotalBytes, "JSONL store: delete the oldest files past this total (negative: keep all)")
	keepAge := fs.Duration("retain-age", ingest.DefaultMaxAge, "JSONL store: delete files last written longer ago (negative: keep all)")
	alertAt := fs.Int("alert-threshold", 0, "print an alert when one error fingerprint is seen this often within -alert-window (0: off)")
	alertWindow := fs.Duration("alert-window", time.Hour, "window of -alert-threshold")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return flagError{err}
	}
	out = &lockedWriter{w: out} // request goroutines report through it
	if *token == "" {
		*token = os.Getenv("FIELDLOG_INGEST_TOKEN")
	}
	if *token == "" && len(issuers) == 0 && !*anonymous {
		return errors.New("set -token (or FIELDLOG_INGEST_TOKEN), -oidc-issuer, or -anonymous to accept every request")
	}
	m, err := ingest.ParseMode(*mode)
	if err != nil {
		return err
	}
	names, err := ingest.ParseNaming(*naming)
	if err != nil {
		return err
	}
	report := func(err error) { fmt.Fprintln(out, "ingest-server:", err) }
	var verifiers []ingest.Verifier
	if *token != "" {
		verifiers = append(verifiers, ingest.BearerToken(*token))
	}
	if len(issuers) > 0 {
		oo := oidcauth.Options{KeyLifetime: *keyLifetime, OnError: report}
		for _, u := range issuers {
			oo.Issuers = append(oo.Issuers, oidcauth.Issuer{URL: u, Audience: *audience, UserClaim: *userClaim})
		}
		v, err := oidcauth.New(oo)
		if err != nil {
			return err
		}
		verifiers = append(verifiers, v)
	}

	var exp ingest.Exporter
	where := ""
	if *otlpURL != "" {
		e, err := otlp.New(ctx, otlp.Options{EndpointURL: *otlpURL, Naming: names})
		if err != nil {
			return err
		}
		exp, where = e, "forwarding to "+*otlpURL
	} else {
		s, err := ingest.NewJSONLStore(*store, &ingest.JSONLOptions{MaxTotalBytes: *keepBytes, MaxAge: *keepAge,
			Naming: names, OnError: report})
		if err != nil {
			return err
		}
		exp, where = s, "storing in "+*store
	}
	opts := ingest.ServerOptions{
		Exporter: exp, RatePerSecond: *rate, RateBurst: *burst, UserRatePerSecond: *userRate, UserRateBurst: *userBurst,
		ConfigFile: *config, AttachmentsDir: *attachments, AllowAnonymous: *anonymous, PublicConfig: *publicConfig, Mode: m,
		MaxBodyBytes: *maxBody, BodyTimeout: *bodyTimeout, MaxConnections: *maxConns,
		FingerprintWindow: *alertWindow, AlertThreshold: *alertAt,
		OnAlert: func(a ingest.Alert) {
			fmt.Fprintf(out, "ingest-server: alert: %s seen %d times within %s: %s\n", a.Fingerprint, a.Count, a.Window, a.Sample)
		},
		OnError: report,
	}
	switch len(verifiers) {
	case 0:
	case 1:
		opts.Verifier = verifiers[0]
	default:
		opts.Verifier = ingest.AnyOf(verifiers...)
	}
	srv, err := ingest.NewServer(opts)
	if err != nil {
		return errors.Join(err, exp.Close(ctx))
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return errors.Join(err, srv.Close(ctx))
	}
	hs := srv.HTTPServer()
	fmt.Fprintf(out, "ingest-server: listening on http://%s%s, %s mode, %s naming, %s\n", ln.Addr(), ingest.LogsPath, m, names, where)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return errors.Join(err, srv.Close(context.Background()))
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdown)
	<-errc
	fmt.Fprintln(out, "ingest-server: stopped")
	return errors.Join(err, srv.Close(shutdown))
}

// lockedWriter serialises writes from concurrent requests.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
