//go:build unix

package crash

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes f's advisory lock for as long as f stays open. It
// reports false, without waiting, when another open file holds it.
func lockFile(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
