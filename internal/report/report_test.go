package report_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/internal/report"
	"github.com/stretchr/testify/assert"
)

func TestLimitedBurstThenOnePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		r := report.NewLimited("fieldlog: ", &buf)
		for range report.Burst + 5 {
			r.Report(errors.New("boom"))
		}
		r.Report(nil)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		assert.Len(t, lines, report.Burst)
		assert.Equal(t, "fieldlog: boom", lines[0])

		time.Sleep(report.Interval)
		r.Report(errors.New("again"))
		lines = strings.Split(strings.TrimSpace(buf.String()), "\n")
		assert.Len(t, lines, report.Burst+1)
		assert.Equal(t, "fieldlog: again (5 similar reports suppressed)", lines[len(lines)-1])
	})
}
