package ingest

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"time"
)

// listPage is what the sessions page shows.
type listPage struct {
	Form     url.Values
	Sessions []SessionSummary
	Problem  string
}

// renderPage executes a page into a buffer first, so that a template
// error is a 500 and not half a page.
func renderPage(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		writeDetail(w, http.StatusInternalServerError, "page failed")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05.000Z")
	},
	// received: the time of day, and the date too when it is not the
	// client's.
	"received": func(client time.Time, t *time.Time) string {
		if t == nil {
			return "—"
		}
		if y, m, d := t.UTC().Date(); client.IsZero() || !sameDay(client.UTC(), y, m, d) {
			return t.UTC().Format("2006-01-02 15:04:05.000Z")
		}
		return t.UTC().Format("15:04:05.000Z")
	},
	"delay":  func(ms int64) string { return (time.Duration(ms) * time.Millisecond).String() },
	"skewed": func(ms int64) bool { return ms < -1000 || ms >= LateAfter.Milliseconds() },
	"base":   func() string { return SessionsPagePath },
}).Parse(pageTemplates))

func sameDay(t time.Time, y int, m time.Month, d int) bool {
	ty, tm, td := t.Date()
	return ty == y && tm == m && td == d
}

const pageTemplates = `
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.}} · fieldlog</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.3em .5em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f4f4f4}form input,form select{margin:0 .6em .4em 0}
.k{font-size:11px;text-transform:uppercase;padding:1px 5px;border-radius:3px;background:#eee}
.error .k,.crash .k{background:#c62828;color:#fff}.unclean_exit .k,.dropped .k{background:#ef6c00;color:#fff}
.late_delivery .k,.marker .k{background:#1565c0;color:#fff}.skew{color:#c62828;font-weight:bold}
pre{white-space:pre-wrap;margin:.3em 0;font-size:12px;background:#fafafa;padding:.4em}
details{margin:.2em 0}.note{color:#6d4c41}.muted{color:#777}
</style></head><body>{{end}}

{{define "list"}}{{template "head" "Sessions"}}
<h1>Sessions</h1>
<form method="get" action="{{base}}">
user <input name="user" value="{{.Form.Get "user"}}">
install <input name="install" value="{{.Form.Get "install"}}">
device <input name="device" value="{{.Form.Get "device"}}">
fingerprint <input name="fingerprint" value="{{.Form.Get "fingerprint"}}" size="20"><br>
from <input name="from" value="{{.Form.Get "from"}}" placeholder="2026-02-06T12:00:00Z">
to <input name="to" value="{{.Form.Get "to"}}">
since <input name="since" value="{{.Form.Get "since"}}" placeholder="24h" size="5">
level <input name="level" value="{{.Form.Get "level"}}" placeholder="error" size="7">
text <input name="q" value="{{.Form.Get "q"}}">
<button>Find</button></form>
{{with .Problem}}<p class="note">{{.}}</p>{{end}}
<table><tr><th>session</th><th>user</th><th>device</th><th>app</th><th>os</th><th>first</th><th>last</th><th>entries</th><th>errors</th><th>fatal</th><th>notes</th></tr>
{{range .Sessions}}<tr><td><a href="{{base}}/{{.SessionID}}">{{.SessionID}}</a></td>
<td>{{range .UserIDs}}{{.}} {{end}}</td><td>{{.DeviceAlias}}</td><td>{{.Service}} {{.Version}}</td><td>{{.OS}}</td>
<td>{{when .First}}</td><td>{{when .Last}}</td><td>{{.Entries}}</td><td>{{.Errors}}</td><td>{{.Fatals}}</td>
<td>{{if .UncleanExit}}ended uncleanly {{end}}{{if .Dropped}}{{.Dropped}} lost {{end}}{{if .Truncated}}{{.Truncated}} cut{{end}}</td></tr>
{{else}}<tr><td colspan="11" class="muted">no sessions match</td></tr>{{end}}
</table></body></html>{{end}}

{{define "timeline"}}{{template "head" .Session.SessionID}}
<p><a href="{{base}}">← sessions</a></p>
{{with .Session}}<h1>Session {{.SessionID}}</h1>
<p>{{.Service}} {{.Version}} · {{.OS}} · device <b>{{.DeviceAlias}}</b> · install {{.InstallID}}
{{with .UserIDs}}· user {{range .}}{{.}} {{end}}{{end}}<br>
{{when .First}} → {{when .Last}} · {{.Entries}} entries, {{.Errors}} errors, {{.Fatals}} fatal
{{if .UncleanExit}}· <b>ended uncleanly</b>{{end}}{{if .Dropped}} · {{.Dropped}} records lost{{end}}</p>
{{range .Fingerprints}}<p class="muted">fingerprint <a href="{{base}}?fingerprint={{.}}">{{.}}</a></p>{{end}}
{{end}}
<table><tr><th>client time</th><th>received</th><th>delay</th><th>what</th><th>record</th></tr>
{{range .Items}}<tr class="{{.Kind}}"><td>{{when .Time}}</td><td>{{received .Time .ReceivedAt}}</td>
<td{{if skewed .DelayMillis}} class="skew"{{end}}>{{if .ReceivedAt}}{{delay .DelayMillis}}{{end}}</td>
<td><span class="k">{{.Kind}}</span>{{with .Level}} {{.}}{{end}}</td>
<td>{{with .Logger}}<b>{{.}}</b>: {{end}}{{.Message}}
{{with .Note}}<div class="note">{{.}}</div>{{end}}
{{with .ReportedBy}}<div class="muted">reported by the next start, session <a href="{{base}}/{{.}}">{{.}}</a></div>{{end}}
{{with .Error}}<div>error: {{.}}</div>{{end}}
{{with .Fingerprint}}<div class="muted">fingerprint <a href="{{base}}?fingerprint={{.}}">{{.}}</a></div>{{end}}
{{with .Breadcrumbs}}<details open><summary>{{len .}} breadcrumbs</summary><table>
{{range .}}<tr><td>{{.Timestamp}}</td><td>{{.Category}}</td><td>{{.Level}}</td><td><b>{{.Logger}}</b>: {{.Message}}{{if .Delivered}} <span class="muted">(also delivered)</span>{{end}}</td></tr>{{end}}
</table></details>{{end}}
{{with .StackTrace}}<details><summary>stack</summary><pre>{{.}}</pre></details>{{end}}
{{with .Attachments}}<div>attachments: {{range .}}{{if .URL}}<a href="{{.URL}}">{{.Name}}</a>{{else}}{{.Name}}{{end}} <code>{{.ID}}</code> {{end}}</div>{{end}}
{{with .Attributes}}<details><summary>attributes</summary><pre>{{range $k, $v := .}}{{$k}} = {{$v}}
{{end}}</pre></details>{{end}}
</td></tr>{{end}}
</table></body></html>{{end}}
`
