package ingest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// screenshotDirEnv names a directory that keeps the browser test's
// screenshot; without it the screenshot goes to a temporary directory.
const screenshotDirEnv = "FIELDLOG_SCREENSHOT_DIR"

// TestSessionPageInBrowser renders a session's timeline page in headless
// Chromium, through a stand-in for the authenticating proxy a browser
// reaches the server by, and keeps a screenshot. It is skipped where
// Chromium is not installed.
func TestSessionPageInBrowser(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("chromium is not installed")
	}
	s := newSupport(t)
	const dump = "0123456789abcdef0123456789abcdef"
	synced := rec("s-a", "i1", "u1", 6*time.Second, "error", "Sync", "Sync failed", map[string]any{"diagnostics.goroutines": dump})
	synced["error"] = "SyncError: conflict on item 7"
	s.post(t, 12*time.Second, synced)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", "Bearer secret")
		s.srv.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	dir := os.Getenv(screenshotDirEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "session-timeline.png")
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	chrome := func(args ...string) []byte {
		args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir()}, args...)
		out, err := exec.CommandContext(ctx, browser, args...).Output()
		require.NoError(t, err)
		return out
	}
	url := proxy.URL + ingest.SessionsPagePath + "/s-a"
	dom := string(chrome("--dump-dom", url))
	assert.Contains(t, dom, "calm-falcon-ridge")
	assert.Contains(t, dom, "HttpException: 500")
	assert.Contains(t, dom, "Navigated to /chat")
	assert.Contains(t, dom, "3 records lost before delivery")
	assert.Contains(t, dom, `href="`+ingest.AttachmentsPath+"/"+dump+`"`)

	chrome("--window-size=1280,1100", "--screenshot="+shot, url)
	info, err := os.Stat(shot)
	require.NoError(t, err)
	assert.Greater(t, info.Size(), int64(10<<10), "a rendered page, not a blank one")
	t.Logf("screenshot of %s: %s (%d bytes)", ingest.SessionsPagePath+"/s-a", shot, info.Size())
}
