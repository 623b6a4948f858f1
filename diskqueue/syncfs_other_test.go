//go:build !unix

package diskqueue_test

func syncFS() {}
