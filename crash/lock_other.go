//go:build !unix

package crash

import "os"

// lockFile does nothing where the platform has no advisory locks: a
// session is then taken for ended when another process finds its files,
// so two live processes must not share a directory.
func lockFile(*os.File) (bool, error) { return true, nil }
