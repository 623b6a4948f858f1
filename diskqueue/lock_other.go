//go:build !unix

package diskqueue

import (
	"os"
	"time"
)

// lockFile is a no-op where flock does not exist: bbolt's own lock, taken
// right after validation, still keeps a second writer out.
func lockFile(*os.File, bool, time.Duration) error { return nil }

func unlockFile(*os.File) {}
