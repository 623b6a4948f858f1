package crash

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/breadcrumbs"
	"github.com/soliplex/fieldlog/internal/report"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
)

// Defaults of Options.
const (
	DefaultSaveInterval  = time.Second
	DefaultRecordTimeout = 5 * time.Second
	DefaultLogger        = "crash"
)

// Options configures Install. SessionID is required, and Dir unless
// Backend names it; every other zero field means the default in its
// comment.
type Options struct {
	// Dir keeps this process's crash output, its newest breadcrumbs and its
	// session marker, and those of earlier processes until they are
	// reported. Default: Backend.Dir, the queue directory.
	Dir string
	// SessionID is this process's session id, as the backend sink ships
	// it; it names the files in Dir.
	SessionID string
	// Version is the program's version, kept so that a report shipped by a
	// later process names the build that crashed (crash.version).
	Version string

	// Breadcrumbs is the ring whose newest records are saved to Dir every
	// SaveInterval while they change, for the report of a crash no recover
	// sees; nil: such reports carry none.
	Breadcrumbs    *breadcrumbs.Buffer
	MaxBreadcrumbs int           // breadcrumbs saved; default Backend.MaxBreadcrumbs, else 20
	SaveInterval   time.Duration // default 1 s

	// Backend holds the options of the backend sink the caller opens
	// after Install. Install delivers the reports of earlier sessions into
	// its queue (Backend.Queue, or the queue in Backend.Dir) before that
	// sink starts, each durably and once; the sink then ships them. Nil:
	// the reports go through the Manager given to Start, once, but not
	// durably.
	Backend *backendsink.Options
	// Sanitizer redacts the reports of earlier sessions and the
	// diagnostics dumps; default sanitizer.Default(). The records of
	// Recover and Middleware go through the Manager's own.
	Sanitizer sink.Sanitizer
	// Diagnostics, when set, makes Guard.Diagnostics capture and upload a
	// goroutine dump for error and fatal records.
	Diagnostics *DiagnosticsOptions

	// RecordTimeout bounds how long Recover and Middleware wait for the
	// fatal record to be durable; default 5 s.
	RecordTimeout time.Duration
	// Logger names the records this package writes; default "crash".
	Logger string
	// OnError receives the package's own failures; default: stderr,
	// rate-limited. It must not log through the Manager.
	OnError func(error)

	// afterDurable, in tests, runs once a report of an earlier session is
	// durable in the queue, before its files are removed.
	afterDurable func()
}

func (o *Options) fill() error {
	if o.Dir == "" && o.Backend != nil {
		o.Dir = o.Backend.Dir
	}
	if o.Dir == "" {
		return errors.New("crash: Options.Dir is required")
	}
	if !validSessionID(o.SessionID) {
		return fmt.Errorf("crash: Options.SessionID %q must be 1 to 128 letters, digits, '-', '_' or '.'", o.SessionID)
	}
	if o.MaxBreadcrumbs <= 0 && o.Backend != nil {
		o.MaxBreadcrumbs = o.Backend.MaxBreadcrumbs
	}
	if o.MaxBreadcrumbs <= 0 {
		o.MaxBreadcrumbs = backendsink.DefaultMaxBreadcrumbs
	}
	if o.SaveInterval <= 0 {
		o.SaveInterval = DefaultSaveInterval
	}
	if o.Sanitizer == nil {
		o.Sanitizer = sanitizer.Default()
	}
	if o.RecordTimeout <= 0 {
		o.RecordTimeout = DefaultRecordTimeout
	}
	if o.Logger == "" {
		o.Logger = DefaultLogger
	}
	if o.OnError == nil {
		o.OnError = report.NewLimited("fieldlog: ", nil).Report
	}
	return nil
}

// A Guard reports the crashes of the process it was installed in. Its
// methods are safe for concurrent use; a nil Guard does nothing (panics go
// on as without it).
type Guard struct {
	*core
	swallow bool
}

type core struct {
	opts    Options
	manager atomic.Pointer[sink.Manager]
	session *os.File // this session's marker, locked while the process lives
	held    heldCrumbs

	mu      sync.Mutex
	pending []pastReport // reports of earlier sessions for Start, when there is no Backend

	stopSave chan struct{}
	saveDone chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// Install starts crash capture for this process and reports what earlier
// sessions in Options.Dir left behind:
//
//   - It marks the session as running in Dir and directs the runtime's
//     crash output (runtime/debug.SetCrashOutput) to a file there, so that
//     a crash no recover sees — an unrecovered panic in any goroutine, a
//     fatal error such as concurrent map writes, a stack overflow, running
//     out of memory — is on disk when the process dies.
//   - It saves the newest breadcrumbs to Dir while they change.
//   - For every earlier session that crashed, it builds a fatal record
//     from the crash output: the panic or fatal error, the crashing
//     goroutine's stack and the session's last breadcrumbs, shipped with
//     that session's id. For one that ended with neither crash output nor
//     Close (SIGKILL, an out-of-memory kill, power loss) it builds one
//     warning naming the session and its last known activity. With
//     Options.Backend they are in the queue when Install returns.
//
// Call it once per process, before the backend sink opens its queue;
// then Start with the Manager, and Close at exit. Crash output replaces
// any the program directed elsewhere with SetCrashOutput.
func Install(opts Options) (*Guard, error) {
	o := opts
	if err := o.fill(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("crash: %w", err)
	}
	c := &core{opts: o, stopSave: make(chan struct{}), saveDone: make(chan struct{})}
	if err := c.startSession(); err != nil {
		return nil, err
	}
	c.reportEarlier()
	if o.Breadcrumbs != nil {
		go c.saveLoop()
	} else {
		close(c.saveDone)
	}
	return &Guard{core: c}, nil
}

// startSession writes and locks the session marker and directs the crash
// output to the session's file.
func (c *core) startSession() error {
	base := filepath.Join(c.opts.Dir, c.opts.SessionID)
	f, err := os.OpenFile(base+extSession, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("crash: start session: %w", err)
	}
	fail := func(err error) error {
		_ = f.Close()
		_ = os.Remove(base + extSession)
		return fmt.Errorf("crash: start session: %w", err)
	}
	if _, err := lockFile(f); err != nil {
		return fail(err)
	}
	info, _ := json.Marshal(sessionInfo{
		SessionID: c.opts.SessionID, PID: os.Getpid(), Started: time.Now().UTC(),
		Version: c.opts.Version, GoVersion: runtime.Version(),
	})
	if _, err := f.Write(info); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	out, err := os.OpenFile(base+extCrash, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fail(err)
	}
	err = debug.SetCrashOutput(out, debug.CrashOptions{}) // the runtime keeps its own descriptor
	_ = out.Close()
	if err != nil {
		return fail(err)
	}
	if err := syncDir(c.opts.Dir); err != nil {
		c.opts.OnError(fmt.Errorf("crash: sync %s: %w", c.opts.Dir, err))
	}
	c.session = f
	return nil
}

// Start hands the Guard the Manager that Recover, Go, Middleware and
// diagnostics write through. Without Options.Backend, it also logs the
// reports of earlier sessions through m, each with its session's id.
func (g *Guard) Start(m *sink.Manager) {
	if g == nil || g.core == nil || m == nil {
		return
	}
	g.manager.Store(m)
	g.mu.Lock()
	pending := g.pending
	g.pending = nil
	g.mu.Unlock()
	for _, rep := range pending {
		m.Log(rep.context(), rep.rec)
		if err := removeSession(g.opts.Dir, rep.session); err != nil {
			g.opts.OnError(err)
		}
	}
}

// SessionID returns the id of the session the Guard reports for.
func (g *Guard) SessionID() string {
	if g == nil || g.core == nil {
		return ""
	}
	return g.opts.SessionID
}

// Breadcrumbs returns the source of breadcrumbs for the backend sink
// (backendsink.Options.Breadcrumbs): Options.Breadcrumbs, except that an
// error record that diagnostics held back gets the breadcrumbs it had when
// it was logged. Nil without Options.Breadcrumbs.
func (g *Guard) Breadcrumbs() backendsink.BreadcrumbSource {
	if g == nil || g.core == nil || g.opts.Breadcrumbs == nil {
		return nil
	}
	return heldSource{g.core}
}

// Close marks the session as ended cleanly and stops saving breadcrumbs.
// Call it at exit, after the Manager's Close; a process that ends without
// it is reported by the next start. Crash output stays directed to the
// session's file until the process ends, so a crash after Close is still
// reported. A second Close returns nil.
func (g *Guard) Close(ctx context.Context) error {
	if g == nil || g.core == nil {
		return nil
	}
	first := false
	g.closeOnce.Do(func() {
		first = true
		close(g.stopSave)
		var err error
		select {
		case <-g.saveDone:
		case <-ctx.Done():
			err = ctx.Err()
			<-g.saveDone // a save is a rename: it ends soon
		}
		base := filepath.Join(g.opts.Dir, g.opts.SessionID)
		if werr := writeFileSync(base+extClean, nil, true); werr != nil {
			err = errors.Join(err, fmt.Errorf("crash: mark the session ended: %w", werr))
		}
		g.closeErr = errors.Join(err, g.session.Close())
	})
	if !first {
		return nil
	}
	return g.closeErr
}
