package fieldlog

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
)

// StatusHandler returns an http.Handler that shows the connection status,
// the queue, drops by reason and the most recent records (sanitized, as
// they were shipped): HTML, or JSON when the request asks for it
// (?format=json or Accept: application/json). It is never mounted by
// default; mount it where only operators reach it, as with net/http/pprof:
//
//	mux.Handle("GET /debug/fieldlog", client.StatusHandler())
func (c *Client) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := c.status()
		if r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			_ = enc.Encode(st)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = statusPage.Execute(w, st)
	})
}

// Status is what StatusHandler shows.
type Status struct {
	Service     string            `json:"service"`
	Version     string            `json:"version"`
	InstallID   string            `json:"install_id"`
	SessionID   string            `json:"session_id"`
	DeviceAlias string            `json:"device_alias"`
	Endpoint    string            `json:"endpoint,omitempty"`
	Exporting   bool              `json:"exporting"`
	Connection  backendsink.Stats `json:"connection"`
	Recent      []RecentRecord    `json:"recent"`
}

// A RecentRecord is one record as it left the sanitizer.
type RecentRecord struct {
	Time    time.Time      `json:"time"`
	Level   string         `json:"level"`
	Logger  string         `json:"logger"`
	Message string         `json:"message"`
	Error   string         `json:"error,omitempty"`
	Attrs   map[string]any `json:"attributes,omitempty"`
}

func (c *Client) status() Status {
	st := Status{
		Service: c.opts.Service, Version: c.opts.Version,
		InstallID: c.installID, SessionID: c.sessionID, DeviceAlias: c.alias,
		Endpoint: c.endpoint, Exporting: c.Exporting(), Connection: c.Stats(),
	}
	recs := c.recent.Records()
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		rr := RecentRecord{Time: r.Time, Level: r.Level.String(), Logger: r.Logger, Message: r.Message, Error: r.Error}
		for a := range r.Attrs {
			if rr.Attrs == nil {
				rr.Attrs = map[string]any{}
			}
			rr.Attrs[a.Key] = a.Value.Resolve().Any()
		}
		st.Recent = append(st.Recent, rr)
	}
	return st
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>fieldlog: {{.Service}}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left;vertical-align:top}
th{background:#eee}.err{color:#a00}</style></head><body>
<h1>{{.Service}} {{.Version}}</h1>
<table>
<tr><th>device</th><td>{{.DeviceAlias}} (install {{.InstallID}})</td></tr>
<tr><th>session</th><td>{{.SessionID}}</td></tr>
<tr><th>export</th><td>{{if .Exporting}}on, to {{.Endpoint}}{{else}}off{{end}}</td></tr>
{{with .Connection}}
<tr><th>queued</th><td>{{.Pending}}</td></tr>
<tr><th>confirmed</th><td>{{.Confirmed}} in {{.Requests}} requests, {{.Retries}} retries</td></tr>
<tr><th>paused</th><td>{{if .Paused}}{{.Paused}}{{else}}no{{end}}</td></tr>
<tr><th>dropped</th><td>{{range $k, $v := .Dropped}}{{$k}} {{$v}}; {{else}}none{{end}}</td></tr>
<tr><th>last error</th><td class="err">{{.LastError}}</td></tr>
<tr><th>last success</th><td>{{if not .LastSuccess.IsZero}}{{.LastSuccess.Format "2006-01-02T15:04:05Z07:00"}}{{end}}</td></tr>
{{end}}
</table>
<h2>Recent records (sanitized)</h2>
<table><tr><th>time</th><th>level</th><th>logger</th><th>message</th><th>attributes</th></tr>
{{range .Recent}}<tr><td>{{.Time.Format "15:04:05.000"}}</td><td>{{.Level}}</td><td>{{.Logger}}</td><td>{{.Message}}{{if .Error}} <span class="err">{{.Error}}</span>{{end}}</td><td>{{range $k, $v := .Attrs}}{{$k}}={{$v}} {{end}}</td></tr>
{{end}}</table></body></html>
`))
