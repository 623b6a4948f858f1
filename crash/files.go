package crash

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
)

// The files a session keeps in Options.Dir, each named <session id><ext>.
const (
	extSession = ".session" // written at start, locked while the process lives
	extCrash   = ".crash"   // the runtime's crash output; empty unless the process crashed
	extCrumbs  = ".crumbs"  // the newest breadcrumbs, kept up to date while the process lives
	extClean   = ".clean"   // Close ran: the session ended cleanly
	extRepanic = ".repanic" // goroutines whose panic Recover reported before raising it again
	extSending = ".sending" // a report of this session may be in the queue
	extTemp    = ".tmp"     // a file being replaced
)

var sessionExts = []string{extSession, extCrash, extCrumbs, extClean, extRepanic, extSending, extCrumbs + extTemp}

// validSessionID reports whether id can name files: 1 to 128 letters,
// digits, '-', '_' and '.', not starting with '.'.
func validSessionID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// splitName returns the session id and extension of a file in Dir, or
// false for a file that is not a session's.
func splitName(name string) (id, ext string, ok bool) {
	for _, e := range sessionExts {
		if id, found := strings.CutSuffix(name, e); found && validSessionID(id) {
			return id, e, true
		}
	}
	return "", "", false
}

// sessionInfo is what a session records about itself when it starts.
type sessionInfo struct {
	SessionID string    `json:"session_id"`
	PID       int       `json:"pid"`
	Started   time.Time `json:"started"`
	Version   string    `json:"version,omitempty"`
	GoVersion string    `json:"go_version,omitempty"`
}

// savedCrumb is a breadcrumb as the breadcrumbs file keeps it.
type savedCrumb struct {
	Time     time.Time       `json:"time"`
	Level    logrecord.Level `json:"level"`
	Logger   string          `json:"logger"`
	Message  string          `json:"message"`
	Category string          `json:"category"`
}

// writeFileSync writes data to path and syncs the file and, when dirSync
// is set, the directory, so that it survives a power loss.
func writeFileSync(path string, data []byte, dirSync bool) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && dirSync {
		err = syncDir(filepath.Dir(path))
	}
	return err
}

// replaceFile writes data to path through a temporary file and a rename,
// so that a reader (or a crash) sees the old content or the new, never
// half of it. It does not sync: a process crash keeps what the kernel
// has; only a power loss costs the last version.
func replaceFile(path string, data []byte) error {
	tmp := path + extTemp
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, os.ErrInvalid) {
		return nil // a platform that cannot sync directories
	}
	return err
}

// readCapped reads at most limit bytes of the file at path.
func readCapped(path string, limit int64) ([]byte, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	buf := make([]byte, min(info.Size(), limit))
	n, err := f.ReadAt(buf, 0)
	if n == len(buf) {
		err = nil
	}
	return buf[:n], info, err
}

// appendRepanic notes, in the session's repanic file, that the panic of
// goroutine gid was reported before it was raised again.
func appendRepanic(path string, gid int64) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.FormatInt(gid, 10) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readRepanics returns the goroutine ids in a repanic file.
func readRepanics(path string) map[int64]bool {
	b, _, err := readCapped(path, 64<<10)
	if err != nil {
		return nil
	}
	out := map[int64]bool{}
	for f := range strings.FieldsSeq(string(b)) {
		if n, err := strconv.ParseInt(f, 10, 64); err == nil {
			out[n] = true
		}
	}
	return out
}

// decodeCrumbs reads a breadcrumbs file; damaged content gives none.
func decodeCrumbs(b []byte) []savedCrumb {
	var out []savedCrumb
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

// removeSession removes every file of session id in dir, the sending
// marker last: while it exists, a later start checks the queue before
// reporting again.
func removeSession(dir, id string) error {
	var errs []error
	for _, ext := range sessionExts {
		if ext == extSending {
			continue
		}
		if err := os.Remove(filepath.Join(dir, id+ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := os.Remove(filepath.Join(dir, id+extSending)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("crash: remove the files of session %s: %w", id, err)
	}
	return nil
}
