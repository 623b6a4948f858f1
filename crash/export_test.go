package crash

import "github.com/soliplex/fieldlog/logrecord"

// WithAfterDurable returns o with a hook that runs once a report of an
// earlier session is durable in the queue, before its files are removed.
func WithAfterDurable(o Options, f func()) Options {
	o.afterDurable = f
	return o
}

// SaveBreadcrumbs writes the breadcrumbs file now, as the saver does
// every SaveInterval. Use it with a SaveInterval long enough that the
// saver does not run at the same time.
func SaveBreadcrumbs(g *Guard) { g.saveCrumbs(&logrecord.Record{}) }

// Abandon ends g as a killed process would: the lock on its marker goes,
// and nothing marks the session ended.
func Abandon(g *Guard) {
	close(g.stopSave)
	<-g.saveDone
	_ = g.session.Close()
}
