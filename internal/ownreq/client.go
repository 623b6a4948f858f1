package ownreq

import (
	"net/http"
	"time"
)

// NewClient returns an HTTP client with the given timeout on a transport
// of its own, a copy of http.DefaultTransport's settings: closing its idle
// connections when the component that made it closes (CloseIdle) leaves
// no connection goroutine behind, which the shared default transport
// would keep for its idle timeout.
func NewClient(timeout time.Duration) *http.Client {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		t = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	return &http.Client{Timeout: timeout, Transport: t}
}
