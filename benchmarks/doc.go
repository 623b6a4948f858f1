// Package benchmarks measures fieldlog beside the libraries users compare
// it with, in the same run on the same machine. It is a module of its own
// so that the peers never enter the SDK's dependency graph; it holds
// benchmarks only.
package benchmarks
