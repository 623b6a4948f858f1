package ingest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"
)

// attachmentRoute is the pattern of GET AttachmentsPath/{id}: one stored
// attachment, as the timeline links it (attachmentURL).
const attachmentRoute = "GET " + AttachmentsPath + "/{id}"

// attachmentURL returns the path an attachment is served at, or "" when
// id is not one the server hands out (32 lower-case hex digits): the ids in
// a record are the client's word, and only the server's own are linked.
func attachmentURL(id string) string {
	if !validAttachmentID(id) {
		return ""
	}
	return AttachmentsPath + "/" + id
}

// validAttachmentID reports whether id has the form handleAttachment
// gives ids: nothing else names a file in AttachmentsDir.
func validAttachmentID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Server) handleAttachment(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.verify(w, r); !ok {
		return
	}
	if s.opts.AttachmentsDir == "" {
		refuse(w, http.StatusNotFound, "attachments are not enabled")
		return
	}
	if r.ContentLength > s.opts.MaxAttachmentBytes {
		refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("attachment larger than %d bytes", s.opts.MaxAttachmentBytes))
		return
	}
	// An attachment streams to disk: it takes a read slot, not memory.
	if !s.guard.startRead(0) {
		w.Header().Set("Retry-After", "1")
		refuse(w, http.StatusServiceUnavailable, "too many requests being read; retry")
		return
	}
	defer s.guard.endRead()
	deadline(w, s.opts.AttachmentTimeout)

	var idb [16]byte
	_, _ = rand.Read(idb[:]) // never fails
	id := hex.EncodeToString(idb[:])
	path := filepath.Join(s.opts.AttachmentsDir, id)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		s.opts.OnError(fmt.Errorf("ingest: attachment: %w", err))
		refuse(w, http.StatusServiceUnavailable, "storage unavailable")
		return
	}
	out := &fileWriter{f: f}
	n, err := io.Copy(out, http.MaxBytesReader(w, r.Body, s.opts.MaxAttachmentBytes))
	if cerr := f.Close(); out.err == nil {
		out.err = cerr
	}
	if err != nil || out.err != nil {
		_ = os.Remove(path)
		var mbe *http.MaxBytesError
		switch {
		case out.err != nil:
			s.opts.OnError(fmt.Errorf("ingest: attachment: %w", out.err))
			refuse(w, http.StatusServiceUnavailable, "storage unavailable")
		case errors.As(err, &mbe):
			refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("attachment larger than %d bytes", s.opts.MaxAttachmentBytes))
		case timedOut(err):
			timeout(w, "attachment not received in time")
		default:
			refuse(w, http.StatusBadRequest, "upload failed")
		}
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "bytes": n})
}

// fileWriter tells the file's errors from the body's.
type fileWriter struct {
	f   *os.File
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// sniffBytes is how much of an attachment decides its content type.
const sniffBytes = 64 << 10

// handleAttachmentDownload serves one stored attachment to a verified
// caller: text/plain when it reads as UTF-8 text (goroutine dumps and heap
// profiles in pprof's text form do), else application/octet-stream as a
// download; never sniffed by the browser, never cached, never run as a
// page. Only a name of the form the server hands out is looked up, and only
// inside AttachmentsDir (os.Root: no "..", no symbolic link out of it).
func (s *Server) handleAttachmentDownload(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.verify(w, r); !ok {
		return
	}
	if s.opts.AttachmentsDir == "" {
		writeDetail(w, http.StatusNotFound, "attachments are not enabled")
		return
	}
	id := r.PathValue("id")
	if !validAttachmentID(id) {
		writeDetail(w, http.StatusNotFound, "no such attachment")
		return
	}
	root, err := os.OpenRoot(s.opts.AttachmentsDir)
	if err != nil {
		s.opts.OnError(fmt.Errorf("ingest: attachment: %w", err))
		writeDetail(w, http.StatusServiceUnavailable, "storage unavailable")
		return
	}
	defer root.Close()
	f, err := root.Open(id)
	var info fs.FileInfo
	if err == nil {
		defer f.Close()
		info, err = f.Stat()
	}
	if err != nil || !info.Mode().IsRegular() {
		writeDetail(w, http.StatusNotFound, "no such attachment")
		return
	}
	head := make([]byte, min(info.Size(), sniffBytes))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		s.opts.OnError(fmt.Errorf("ingest: attachment %s: %w", id, err))
		writeDetail(w, http.StatusServiceUnavailable, "storage unavailable")
		return
	}
	h := w.Header()
	if isText(head[:n], int64(n) < info.Size()) {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Disposition", `inline; filename="`+id+`.txt"`)
	} else {
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="`+id+`"`)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	// A large attachment to a slow reader gets the time an upload gets.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.opts.AttachmentTimeout + responseTimeout))
	http.ServeContent(w, r, "", info.ModTime(), f)
}

// isText reports whether b, the start of a file (cut inside a character,
// perhaps, when more follows), is UTF-8 text: no control characters but
// tab, newline, carriage return and form feed.
func isText(b []byte, more bool) bool {
	if more {
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	if !utf8.Valid(b) {
		return false
	}
	return bytes.IndexFunc(b, func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' || r == 0x7f
	}) < 0
}
