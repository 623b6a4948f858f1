// Command instrumented-service is a small HTTP service set up with
// fieldlog.New and measured with its rum package: its cold start, every
// request by route, the calls it makes to another service, timed
// operations and runtime stalls, all as ordinary log records. The
// application itself logs with log/slog through fieldlog's handler. A
// panic in a handler becomes a fatal record (the crash guard's
// middleware) and the service goes on serving. Records go to the console
// and, with -endpoint, to an ingest server, with a goroutine dump attached
// to errors.
//
//	instrumented-service [-addr 127.0.0.1:8080] [-upstream URL] [-slow 200ms] [-summary 1m]
//	                     [-endpoint URL/api/v1/logs [-token T] [-dir DIR]]
//	instrumented-service -demo [-user ID] [-endpoint …]
//
// Routes: GET /users/{id}, GET /reports/{year} (slow on purpose),
// GET /quote (calls -upstream), GET /invoices/{id} (a bug: it panics),
// GET /healthz. The X-User request header names the signed-in user, whom
// every record of the request carries. With -demo it serves on a free
// port, sends itself a few requests as -user — fast ones, a slow one, one
// whose upstream call is refused, one that panics, one to no route —
// shuts down, and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/soliplex/fieldlog"
	"github.com/soliplex/fieldlog/crash"
	"github.com/soliplex/fieldlog/rum"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	addr     string
	upstream string
	slow     time.Duration
	summary  time.Duration
	demo     bool
	user     string
	endpoint string
	token    string
	dir      string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("instrumented-service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.upstream, "upstream", "", "base URL of the service GET /quote calls")
	fs.DurationVar(&c.slow, "slow", 200*time.Millisecond, "requests and calls at least this slow are logged at warning")
	fs.DurationVar(&c.summary, "summary", time.Minute, "how often route and host summaries are logged")
	fs.BoolVar(&c.demo, "demo", false, "serve on a free port, send a few requests, shut down and exit")
	fs.StringVar(&c.user, "user", "u-demo", "the user the demo's requests are sent as (X-User)")
	fs.StringVar(&c.endpoint, "endpoint", "", "ingest URL to ship records to (default: FIELDLOG_ENDPOINT; neither: console only)")
	fs.StringVar(&c.token, "token", "", "bearer token for -endpoint")
	fs.StringVar(&c.dir, "dir", "", "directory of the disk queue and install id (default: the user cache directory)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "instrumented-service: unexpected argument %q\n", fs.Arg(0))
		return c, errors.New("usage")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2
	}

	opts := fieldlog.Options{
		Service:  "instrumented-service",
		Endpoint: c.endpoint,
		Token:    c.token,
		Dir:      c.dir,
		Console:  stdout,
		RUM:      &rum.Options{SlowRequest: c.slow, SlowCall: c.slow, SummaryInterval: c.summary},
		OnError:  func(err error) { fmt.Fprintln(stderr, "instrumented-service:", err) },
	}
	if c.endpoint != "" || os.Getenv("FIELDLOG_ENDPOINT") != "" {
		opts.Diagnostics = &crash.DiagnosticsOptions{}
	}
	client, err := fieldlog.New(opts)
	if err != nil {
		fmt.Fprintln(stderr, "instrumented-service:", err)
		return 2
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := client.Close(ctx); err != nil {
			fmt.Fprintln(stderr, "instrumented-service: close:", err)
		}
	}()
	log := slog.New(client.Manager().Handler("App"))
	mon := client.RUM()
	mon.Phase("config")

	if c.demo {
		c.addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		fmt.Fprintln(stderr, "instrumented-service:", err)
		mon.Close(context.Background())
		return 1
	}
	mon.Phase("listen")
	base := "http://" + ln.Addr().String()
	if c.demo && c.upstream == "" {
		c.upstream = refusedURL()
	}

	httpc := &http.Client{Transport: mon.Transport(nil), Timeout: 5 * time.Second}
	svc := &service{log: log, client: httpc, upstream: c.upstream, slowWork: c.slow + c.slow/4}
	// rum's middleware goes outside the crash guard's, which must see the
	// ServeMux's route; the user goes outside both.
	handler := withUser(mon.Middleware(client.Crash().Middleware(svc.routes())))
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	mon.Ready()
	log.Info("listening", "addr", base)

	if c.demo {
		demo(ctx, httpc, base, c.user, log)
	} else {
		select {
		case <-ctx.Done():
		case err := <-served:
			log.Error("serve", "err", err)
		}
	}

	code := 0
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Error("shutdown", "err", err)
		code = 1
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "err", err)
		code = 1
	}
	httpc.CloseIdleConnections()
	return code // the deferred Close logs rum's last summaries, then ships or keeps everything
}

// refusedURL returns the URL of a 127.0.0.1 port where nothing listens.
func refusedURL() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "http://127.0.0.1:1"
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// withUser puts the signed-in user, from the X-User header, in the
// request's context: every record logged with it names the user.
func withUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := r.Header.Get("X-User"); u != "" {
			r = r.WithContext(fieldlog.WithUser(r.Context(), u))
		}
		next.ServeHTTP(w, r)
	})
}

// demo sends the service a few requests through the instrumented client,
// as user.
func demo(ctx context.Context, client *http.Client, base, user string, log *slog.Logger) {
	for _, path := range []string{"/users/1", "/quote", "/users/2", "/invoices/7", "/users/42", "/reports/2026", "/healthz", "/nowhere"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			log.Error("demo request", "err", err)
			return
		}
		req.Header.Set("X-User", user)
		resp, err := client.Do(req)
		if err != nil {
			log.Error("demo request", "path", path, "err", err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
