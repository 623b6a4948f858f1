package logrecord_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
)

func TestCategory(t *testing.T) {
	tests := []struct {
		logger string
		attrs  []slog.Attr
		want   string
	}{
		{"Router", nil, "ui"},
		{"Navigation.Stack", nil, "ui"},
		{"UI", nil, "ui"},
		{"UIKit", nil, "ui"},
		{"Http", nil, "network"},
		{"HttpClient", nil, "network"},
		{"http.client", nil, "network"},
		{"Network", nil, "network"},
		{"Connectivity", nil, "network"},
		{"Lifecycle", nil, "system"},
		{"Permission", nil, "system"},
		{"Auth", nil, "user"},
		{"Login.Form", nil, "user"},
		{"User", nil, "user"},
		{"Billing", nil, "system"},
		{"", nil, "system"},
		{"Billing", []slog.Attr{slog.String("breadcrumb_category", "user")}, "user"},
		{"Http", []slog.Attr{slog.String("breadcrumb_category", "UI")}, "ui"},
		{"Http", []slog.Attr{slog.String("breadcrumb_category", "bogus")}, "network"},
	}
	for _, tt := range tests {
		t.Run(tt.logger+"/"+tt.want, func(t *testing.T) {
			r := logrecord.New(time.Time{}, logrecord.LevelInfo, tt.logger, "m", tt.attrs...)
			assert.Equal(t, tt.want, r.Category())
		})
	}
}
