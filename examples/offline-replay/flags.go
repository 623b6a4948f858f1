package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/diskqueue"
)

// shipFlags are the flags log and replay share.
type shipFlags struct {
	endpoint, token, queue, progress string
	timeout                          time.Duration
}

func (f *shipFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.endpoint, "endpoint", "", "ingest URL, such as http://127.0.0.1:8080/api/v1/logs (required)")
	fs.StringVar(&f.token, "token", "", "bearer token for the ingest server")
	fs.StringVar(&f.queue, "queue", "", "queue directory (required)")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "give up delivering after this long; what is left stays queued")
	fs.StringVar(&f.progress, "progress", "bar", "progress output: bar, lines or none (trouble and the summary are always shown)")
}

// problems lists what is wrong with the flags.
func (f *shipFlags) problems() []string {
	var p []string
	if f.endpoint == "" {
		p = append(p, "--endpoint is required")
	} else if u, err := url.Parse(f.endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p = append(p, "--endpoint must be an http:// or https:// URL")
	}
	if f.queue == "" {
		p = append(p, "--queue is required")
	}
	if f.progress != "bar" && f.progress != "lines" && f.progress != "none" {
		p = append(p, "--progress must be bar, lines or none")
	}
	if f.timeout <= 0 {
		p = append(p, "--timeout must be positive")
	}
	return p
}

// usageError prints problems and the flag set's usage, and returns
// errUsage; with no problems it returns nil.
func usageError(fs *flag.FlagSet, stderr io.Writer, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	fmt.Fprintf(stderr, "offline-replay %s: %s\n\n", fs.Name(), strings.Join(problems, "; "))
	fs.Usage()
	return errUsage
}

// parseErr keeps -h a request for help and makes any other flag error a
// usage error (the flag package has printed it).
func parseErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return errUsage
}

// A byteSize is a flag holding a size in bytes: 1048576, 512KB, 10MB,
// 1GB (KB, MB and GB are powers of 1024, as the queue's 10 MB default is;
// KiB, MiB and GiB mean the same).
type byteSize int64

// minQueueBytes is the smallest cap --max-queue-bytes accepts: one
// record of the largest size an entry can have.
const minQueueBytes = backendsink.MaxEntryBytes

var sizeUnits = []struct {
	suffix string
	n      int64
}{
	{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10},
	{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10},
	{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"b", 1},
}

func (b *byteSize) Set(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.n
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || n*float64(mult) > 1<<62 {
		return errors.New("want a size such as 10MB, 512KB or 1GB")
	}
	*b = byteSize(n * float64(mult))
	return nil
}

func (b *byteSize) String() string { return formatBytes(int64(*b)) }

// formatBytes writes n for a person: 10 MB, 512 KB, 1.5 GB, 900 B.
func formatBytes(n int64) string {
	for _, u := range []struct {
		name string
		n    int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if n >= u.n {
			v := float64(n) / float64(u.n)
			if v == float64(int64(v)) {
				return fmt.Sprintf("%d %s", int64(v), u.name)
			}
			return strconv.FormatFloat(v, 'f', 1, 64) + " " + u.name
		}
	}
	return fmt.Sprintf("%d B", n)
}

// registerMaxQueueBytes adds --max-queue-bytes, defaulting to the
// queue's own default cap.
func registerMaxQueueBytes(fs *flag.FlagSet) *byteSize {
	b := byteSize(diskqueue.DefaultMaxBytes)
	fs.Var(&b, "max-queue-bytes", "cap on the records waiting on disk, such as 10MB or 1GB; past it the oldest are dropped and counted")
	return &b
}

func (b *byteSize) problems() []string {
	if *b < minQueueBytes {
		return []string{fmt.Sprintf("--max-queue-bytes must be at least %s (one record of the largest size)", formatBytes(minQueueBytes))}
	}
	return nil
}

// num writes n with thousands separators: 1,997,325.
func num[T ~int | ~int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
