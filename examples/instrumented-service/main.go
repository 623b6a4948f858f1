// Command instrumented-service is a small HTTP service measured with
// fieldlog's rum package: its cold start, every request by route, the
// calls it makes to another service, timed operations and runtime stalls,
// all as ordinary log records. The application itself logs with log/slog
// through fieldlog's handler; records go to the console.
//
//	instrumented-service [-addr 127.0.0.1:8080] [-upstream URL] [-slow 200ms] [-summary 1m]
//	instrumented-service -demo
//
// Routes: GET /users/{id}, GET /reports/{year} (slow on purpose),
// GET /quote (calls -upstream), GET /healthz. With -demo it serves on a
// free port, sends itself a few requests — fast ones, a slow one, one
// whose upstream call is refused, one to no route — shuts down, and exits.
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

	"github.com/soliplex/fieldlog/rum"
	"github.com/soliplex/fieldlog/sink"
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

	m := sink.NewManager([]sink.Sink{sink.NewConsole(stdout, &sink.ConsoleOptions{NoStack: true})})
	defer m.Close(context.Background())
	log := slog.New(m.Handler("App"))

	mon, err := rum.New(m.Logger("rum"), rum.Options{SlowRequest: c.slow, SlowCall: c.slow, SummaryInterval: c.summary})
	if err != nil {
		fmt.Fprintln(stderr, "instrumented-service:", err)
		return 2
	}
	mon.StartSampler()
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

	client := &http.Client{Transport: mon.Transport(nil), Timeout: 5 * time.Second}
	svc := &service{log: log, client: client, upstream: c.upstream, slowWork: c.slow + c.slow/4}
	srv := &http.Server{Handler: mon.Middleware(svc.routes()), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	mon.Ready()
	log.Info("listening", "addr", base)

	if c.demo {
		demo(ctx, client, base, log)
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
	client.CloseIdleConnections()
	// Close the Monitor before the Manager, so its last summaries are logged.
	if err := mon.Close(shutdownCtx); err != nil {
		code = 1
	}
	return code
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

// demo sends the service a few requests through the instrumented client.
func demo(ctx context.Context, client *http.Client, base string, log *slog.Logger) {
	for _, path := range []string{"/users/1", "/users/2", "/users/42", "/reports/2026", "/quote", "/healthz", "/nowhere"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			log.Error("demo request", "err", err)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			log.Error("demo request", "path", path, "err", err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
