//go:build unix

package diskqueue_test

import "syscall"

func syncFS() { syscall.Sync() }
