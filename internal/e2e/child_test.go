//go:build unix

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/soliplex/fieldlog"
)

// The test binary, run again with childEnv set, is a sync client: a
// program of its own that logs through fieldlog.New.
const (
	childEnv         = "FIELDLOG_E2E_CHILD" // childWork or childRestart
	childDirEnv      = "FIELDLOG_E2E_DIR"
	childEndpointEnv = "FIELDLOG_E2E_ENDPOINT"
	childTokenEnv    = "FIELDLOG_E2E_TOKEN"

	// childWork logs a few records, an error among them, says "ready
	// <session id>" once they are delivered, and waits to be killed.
	childWork = "work"
	// childRestart starts again in the same directory (shipping the report
	// of the session before) and exits cleanly: "restarted <session id>".
	childRestart = "restart"

	// childLastMessage is the last record childWork logs: its last
	// activity, as the report of its death names it.
	childLastMessage = "Waiting for the next sync"
	// childUser is the user of the sync client.
	childUser = "U2"
	// childUnkilled is how long childWork waits to be killed before it
	// gives up and exits on its own.
	childUnkilled = time.Minute
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

func child(mode string) int {
	client, err := fieldlog.New(fieldlog.Options{
		Service: "field-sync", Version: "2.0.1", Dir: os.Getenv(childDirEnv),
		Endpoint: os.Getenv(childEndpointEnv), Token: os.Getenv(childTokenEnv),
		UserID: childUser, Console: io.Discard,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	switch mode {
	case childWork:
		syncSettings(client)
		if err := client.Flush(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "child: flush:", err)
			return 1
		}
		fmt.Printf("ready %s\n", client.SessionID())
		time.Sleep(childUnkilled) // killed long before, without Close
		return 3
	case childRestart:
		fmt.Printf("restarted %s\n", client.SessionID())
		if err := client.Close(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "child: close:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "child: unknown mode", mode)
	return 2
}

// syncSettings is the sync client's work: a sync that fails.
func syncSettings(client *fieldlog.Client) {
	client.Logger("Router").Info("Opened /settings")
	client.Logger("Http").Info("GET /api/v1/profile 200", "status", 200)
	client.Logger("Sync").Error("Sync failed", errors.New("SyncError: conflict on item 7"), "items", 12)
	client.Logger("Lifecycle").Info(childLastMessage)
}
