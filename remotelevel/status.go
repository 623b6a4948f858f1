package remotelevel

import (
	"maps"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
)

// Status is what a Client knows: the Manager's effective levels and where
// they come from. It is meant for status pages; its JSON form is stable.
type Status struct {
	URL string `json:"url"` // where the configuration is fetched
	// Level and Loggers are the Manager's effective levels, local and
	// remote: the global minimum and the per-logger overrides (keys
	// lower-cased).
	Level   logrecord.Level            `json:"level"`
	Loggers map[string]logrecord.Level `json:"loggers,omitempty"`
	// Remote is the configuration in effect; nil while the local levels
	// apply.
	Remote *Config `json:"remote,omitempty"`
	// Expired reports that the last configuration received carries an
	// until that has passed, so the local levels apply.
	Expired bool      `json:"expired,omitempty"`
	ETag    string    `json:"etag,omitempty"`
	Fetched time.Time `json:"fetched,omitzero"` // the last valid answer (a configuration or 304)
	Error   string    `json:"error,omitempty"`  // of the last fetch, when it failed
	Paused  bool      `json:"paused,omitempty"` // after a 401 or 403, until the token changes
}

// Status returns the Client's status and the Manager's effective levels.
func (c *Client) Status() Status {
	c.mu.Lock()
	st := c.status
	c.mu.Unlock()
	if st.Remote != nil {
		r := *st.Remote
		r.Modules = maps.Clone(r.Modules)
		st.Remote = &r
	}
	st.Level, st.Loggers = c.m.Level(), c.m.LoggerLevels()
	return st
}

// publish copies the worker's state for Status. Only the worker calls it
// (and Close, once the worker has returned).
func (c *Client) publish() {
	w := c.w
	st := Status{
		URL:     c.url,
		Remote:  w.applied,
		Expired: w.good != nil && !w.good.Until.IsZero() && w.applied == nil,
		ETag:    w.etag,
		Fetched: w.fetched,
		Paused:  w.pauseErr != nil,
	}
	if w.lastErr != nil {
		st.Error = w.lastErr.Error()
	}
	c.mu.Lock()
	c.status = st
	c.mu.Unlock()
}
