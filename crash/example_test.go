package crash_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/soliplex/fieldlog/crash"
	"github.com/soliplex/fieldlog/sink"
)

// A worker pool reports a job's panic and goes on; without Swallowing,
// Recover reports the panic and lets it end the program.
func ExampleGuard_Recover() {
	dir, _ := os.MkdirTemp("", "crash-example")
	defer os.RemoveAll(dir)

	guard, err := crash.Install(crash.Options{Dir: dir, SessionID: "0b8e2a9e-example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer guard.Close(context.Background())
	records := sink.NewMemory(10)
	guard.Start(sink.NewManager([]sink.Sink{records}))

	pool := guard.Swallowing()
	runJob := func(limits map[string]int) {
		defer pool.Recover()
		limits["retries"] = 3
	}
	runJob(nil) // assignment to entry in nil map
	runJob(map[string]int{})

	r := records.Records()[0]
	fmt.Println(r.Level, r.Message)
	fmt.Println(strings.Contains(r.StackTrace, "ExampleGuard_Recover"))
	// Output:
	// fatal panic: assignment to entry in nil map
	// true
}
