package ingest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

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
