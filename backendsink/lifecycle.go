package backendsink

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// A LifecycleState is the state of the app that embeds the sink, as mobile
// and desktop toolkits report it.
type LifecycleState int

// The lifecycle states. Every state but Resumed may be followed by the
// process being suspended or killed without notice.
const (
	Resumed LifecycleState = iota
	Inactive
	Hidden
	Paused
	Detached
)

// OnLifecycle flushes when the app becomes inactive, hidden, paused or
// detached, the last moments it is sure to run, and does nothing on
// Resumed. It returns what Flush returns.
func (s *Sink) OnLifecycle(ctx context.Context, state LifecycleState) error {
	if state == Resumed {
		return nil
	}
	return s.Flush(ctx)
}

// CloseOnSignal closes the sink, with at most timeout for the final upload,
// when the process receives one of signals (SIGINT and SIGTERM when none
// are given), then calls then with the signal. A nil then re-raises the
// signal with its default action, so the process ends as it would have
// without the sink. The returned stop function unregisters the handler; it
// waits for a Close already under way.
func (s *Sink) CloseOnSignal(timeout time.Duration, then func(os.Signal), signals ...os.Signal) (stop func()) {
	if len(signals) == 0 {
		signals = []os.Signal{os.Interrupt, syscall.SIGTERM}
	}
	if then == nil {
		then = reraise
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, signals...)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case sig := <-ch:
			signal.Stop(ch)
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			if err := s.Close(ctx); err != nil {
				s.opts.OnError(err)
			}
			cancel()
			then(sig)
		case <-quit:
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(quit)
			wg.Wait()
		})
	}
}

// reraise delivers sig again with its default action.
func reraise(sig os.Signal) {
	signal.Reset(sig)
	if p, err := os.FindProcess(os.Getpid()); err == nil && p.Signal(sig) == nil {
		return
	}
	os.Exit(1)
}
