package fieldlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"

	"github.com/soliplex/fieldlog"
)

// The one call. Without an endpoint (Options.Endpoint or
// FIELDLOG_ENDPOINT) nothing is shipped; redaction is on either way.
func Example() {
	dir, _ := os.MkdirTemp("", "fieldlog-example")
	defer os.RemoveAll(dir)

	client, err := fieldlog.New(fieldlog.Options{Service: "billing", Dir: dir, Console: io.Discard})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close(context.Background())

	client.Logger("Http").Info("Signed up", "email", "alice@example.com")

	// What the status page shows of it.
	rec := httptest.NewRecorder()
	client.StatusHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/?format=json", nil))
	var st fieldlog.Status
	_ = json.Unmarshal(rec.Body.Bytes(), &st)
	fmt.Println(st.Recent[0].Message, st.Recent[0].Attrs["email"])
	fmt.Println(st.Recent[1].Message)
	// Output:
	// Signed up [EMAIL]
	// session started
}
