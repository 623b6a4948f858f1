// Package sinktest holds test doubles shared by fieldlog's tests.
package sinktest

import (
	"context"
	"sync"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// A Recorder is a sink.Sink that keeps every record it is given and counts
// flushes and closes. Setting Err makes Write return it (after recording);
// setting Panic makes Write panic with it (without recording).
type Recorder struct {
	mu      sync.Mutex
	records []logrecord.Record
	flushes int
	closes  int
	closed  bool

	Err   error
	Panic any
}

var _ sink.Sink = (*Recorder)(nil)

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{} }

// Write records r.
func (s *Recorder) Write(_ context.Context, r logrecord.Record) error {
	if s.Panic != nil {
		panic(s.Panic)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return sink.ErrClosed
	}
	s.records = append(s.records, r)
	return s.Err
}

// Flush counts the call.
func (s *Recorder) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushes++
	return nil
}

// Close counts the call and makes later writes fail with sink.ErrClosed.
func (s *Recorder) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closes++
	s.closed = true
	return nil
}

// Records returns a copy of what was written, in order.
func (s *Recorder) Records() []logrecord.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]logrecord.Record(nil), s.records...)
}

// Len returns the number of records written.
func (s *Recorder) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// Flushes returns how many times Flush was called.
func (s *Recorder) Flushes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushes
}

// Closes returns how many times Close was called.
func (s *Recorder) Closes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closes
}

// Discard is a sink.Sink that drops every record; benchmarks use it to
// measure the pipeline alone.
type Discard struct{}

// Write drops r.
func (Discard) Write(context.Context, logrecord.Record) error { return nil }

// Flush does nothing.
func (Discard) Flush(context.Context) error { return nil }

// Close does nothing.
func (Discard) Close(context.Context) error { return nil }
