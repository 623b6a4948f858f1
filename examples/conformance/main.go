// Command conformance checks a live ingest server against fieldlog's wire
// contract and prints a pass/fail table: run it against a backend before
// pointing clients at it. It exits with status 1 when a check fails.
//
//	conformance --endpoint https://logs.example.com/api/v1/logs --token T
//	conformance --endpoint http://127.0.0.1:8080/api/v1/logs --token T --malformed-status 400
//
// The checks are those of package ingest/conformance. The entries it gets
// accepted are stored like any others, marked with the logger
// fieldlog.conformance.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/soliplex/fieldlog/ingest/conformance"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run checks the endpoint the flags name and returns the exit status: 0
// when every check passed, 1 when one failed, 2 for bad flags.
func run(ctx context.Context, args []string, out, errOut io.Writer) int {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(errOut)
	endpoint := fs.String("endpoint", "", "logs URL of the ingest server, such as https://logs.example.com/api/v1/logs")
	token := fs.String("token", "", "bearer token (or set FIELDLOG_INGEST_TOKEN); without one, 401 is not checked")
	malformed := fs.Int("malformed-status", http.StatusUnprocessableEntity, "status the server documents for malformed JSON: 422 or 400")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed for each request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *token == "" {
		*token = os.Getenv("FIELDLOG_INGEST_TOKEN")
	}
	if err := validate(*endpoint, *malformed, *timeout); err != nil {
		fmt.Fprintln(errOut, "conformance:", err)
		return 2
	}
	results := conformance.Check(ctx, conformance.Target{URL: *endpoint, Token: *token, MalformedStatus: *malformed,
		Client: &http.Client{Timeout: *timeout}})
	failed := 0
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tWANT\tGOT\tRESULT")
	for _, r := range results {
		verdict := "pass"
		if !r.Passed {
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Want, r.Got, verdict)
	}
	_ = tw.Flush()
	fmt.Fprintf(out, "%s: %d checks, %d passed, %d failed\n", *endpoint, len(results), len(results)-failed, failed)
	if failed > 0 || ctx.Err() != nil {
		return 1
	}
	return 0
}

func validate(endpoint string, malformed int, timeout time.Duration) error {
	switch {
	case endpoint == "":
		return errors.New("--endpoint is required")
	case malformed != http.StatusUnprocessableEntity && malformed != http.StatusBadRequest:
		return fmt.Errorf("--malformed-status must be 422 or 400, not %d", malformed)
	case timeout <= 0:
		return errors.New("--timeout must be positive")
	}
	return nil
}
