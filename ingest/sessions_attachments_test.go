package ingest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attachmentServer returns a Server whose attachments are in dir.
func attachmentServer(t *testing.T, dir string) (http.Handler, *Server) {
	t.Helper()
	s, err := NewServer(ServerOptions{Exporter: &MemoryExporter{}, Verifier: BearerToken("secret"), AttachmentsDir: dir})
	require.NoError(t, err)
	return s, s
}

func upload(t *testing.T, h http.Handler, content []byte) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, AttachmentsPath, bytes.NewReader(content))
	req.Header.Set("Authorization", "Bearer secret")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	var v struct{ ID string }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
	return v.ID
}

func TestAttachmentDownload(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "attachments")
	const secret = "outside the attachments directory"
	require.NoError(t, os.WriteFile(filepath.Join(parent, "secret.txt"), []byte(secret), 0o600))
	h, _ := attachmentServer(t, dir)

	dump := []byte("goroutine 1 [running]:\nmain.main()\n\t/src/app/main.go:9 +0x1d\n")
	textID := upload(t, h, dump)
	binID := upload(t, h, []byte("\x1f\x8b\x08\x00binary\x00profile"))
	// Text longer than what decides the type, cut there inside a character.
	long := append([]byte("a"), bytes.Repeat([]byte("é"), sniffBytes)...)
	longID := upload(t, h, long)
	const linkID, dirID, missingID = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210", "00000000000000000000000000000000"
	require.NoError(t, os.Symlink(filepath.Join(parent, "secret.txt"), filepath.Join(dir, linkID)))
	require.NoError(t, os.Mkdir(filepath.Join(dir, dirID), 0o700))

	tests := []struct {
		name     string
		method   string
		path     string // raw request path
		token    string
		want     int
		wantType string
		wantBody string // the whole body, when set
	}{
		{"text", http.MethodGet, AttachmentsPath + "/" + textID, "secret", 200, "text/plain; charset=utf-8", string(dump)},
		{"binary", http.MethodGet, AttachmentsPath + "/" + binID, "secret", 200, "application/octet-stream", "\x1f\x8b\x08\x00binary\x00profile"},
		{"long text cut inside a character", http.MethodGet, AttachmentsPath + "/" + longID, "secret", 200, "text/plain; charset=utf-8", string(long)},
		{"head", http.MethodHead, AttachmentsPath + "/" + textID, "secret", 200, "text/plain; charset=utf-8", ""},
		{"no token", http.MethodGet, AttachmentsPath + "/" + textID, "", 401, "application/json", ""},
		{"wrong token", http.MethodGet, AttachmentsPath + "/" + textID, "guess", 401, "application/json", ""},
		{"unknown id", http.MethodGet, AttachmentsPath + "/" + missingID, "secret", 404, "application/json", ""},
		{"upper-case id", http.MethodGet, AttachmentsPath + "/" + strings.ToUpper(textID), "secret", 404, "application/json", ""},
		{"short id", http.MethodGet, AttachmentsPath + "/" + textID[:31], "secret", 404, "application/json", ""},
		{"dot dot, escaped", http.MethodGet, AttachmentsPath + "/..%2Fsecret.txt", "secret", 404, "application/json", ""},
		{"dot dot, escaped twice", http.MethodGet, AttachmentsPath + "/..%252Fsecret.txt", "secret", 404, "application/json", ""},
		{"dot dot: cleaned, out of the route", http.MethodGet, AttachmentsPath + "/../secret.txt", "secret", 307, "", ""},
		{"symbolic link out of the directory", http.MethodGet, AttachmentsPath + "/" + linkID, "secret", 404, "application/json", ""},
		{"a directory", http.MethodGet, AttachmentsPath + "/" + dirID, "secret", 404, "application/json", ""},
		{"a file name", http.MethodGet, AttachmentsPath + "/" + textID + ".txt", "secret", 404, "application/json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			assert.Equal(t, tt.want, w.Code, w.Body.String())
			assert.NotContains(t, w.Body.String(), secret)
			if tt.wantType != "" {
				assert.Equal(t, tt.wantType, w.Header().Get("Content-Type"))
			}
			if tt.wantBody != "" {
				assert.Equal(t, tt.wantBody, w.Body.String())
			}
			if tt.want == 200 {
				assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
				assert.Contains(t, w.Header().Get("Content-Security-Policy"), "sandbox")
				assert.Equal(t, "private, no-store", w.Header().Get("Cache-Control"))
			}
		})
	}
}

func TestAttachmentDownloadRange(t *testing.T) {
	h, _ := attachmentServer(t, t.TempDir())
	id := upload(t, h, []byte("goroutine 1 [running]:\n"))
	req := httptest.NewRequest(http.MethodGet, AttachmentsPath+"/"+id, nil)
	req.Header.Set("Authorization", "Bearer secret")
	req.Header.Set("Range", "bytes=0-8")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	assert.Equal(t, http.StatusPartialContent, w.Code)
	assert.Equal(t, "goroutine", w.Body.String())
}

func TestAttachmentDownloadNotEnabled(t *testing.T) {
	s, err := NewServer(ServerOptions{Exporter: &MemoryExporter{}, AllowAnonymous: true})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, AttachmentsPath+"/0123456789abcdef0123456789abcdef", nil)
	req.SetPathValue("id", "0123456789abcdef0123456789abcdef")
	w := httptest.NewRecorder()
	s.handleAttachmentDownload(w, req)
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Contains(t, w.Body.String(), "not enabled")
}

func TestIsText(t *testing.T) {
	tests := []struct {
		name string
		give string
		more bool
		want bool
	}{
		{"empty", "", false, true},
		{"lines and tabs", "a\tb\r\nc\f", false, true},
		{"multibyte", "Grüße, 世界", false, true},
		{"cut inside a character, more follows", "ab\xc3", true, true},
		{"cut inside a four-byte character", "ab\xf0\x9f\x98", true, true},
		{"a broken character at the very end", "ab\xc3", false, false},
		{"invalid UTF-8", "ab\xff cd", false, false},
		{"NUL", "ab\x00cd", false, false},
		{"escape", "ab\x1b[31m", false, false},
		{"delete", "ab\x7f", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, isText([]byte(tt.give), tt.more))
		})
	}
}

func TestAttachmentURL(t *testing.T) {
	assert.Equal(t, AttachmentsPath+"/0123456789abcdef0123456789abcdef", attachmentURL("0123456789abcdef0123456789abcdef"))
	for _, bad := range []string{"", "../../etc/passwd", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0"} {
		assert.Empty(t, attachmentURL(bad), bad)
	}
}
