package sinktest

import (
	"strings"
	"sync"
)

// Errors collects what a component reports through its error callback;
// pass its Add method as the callback.
type Errors struct {
	mu   sync.Mutex
	list []error
}

// Add records err.
func (e *Errors) Add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, err)
}

// All returns the errors reported so far, in order.
func (e *Errors) All() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.list...)
}

// Text returns every reported error's text, one per line.
func (e *Errors) Text() string {
	var b strings.Builder
	for _, err := range e.All() {
		b.WriteString(err.Error())
		b.WriteByte('\n')
	}
	return b.String()
}
