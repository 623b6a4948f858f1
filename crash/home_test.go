package crash_test

// parkedAtHome blocks until stop is closed. The line directive below
// makes its frames name a file in a home directory, as they do in a
// program built there.
//
//line /home/alice/project/worker.go:1
func parkedAtHome(ready chan<- struct{}, stop <-chan struct{}) {
	close(ready)
	<-stop
}
