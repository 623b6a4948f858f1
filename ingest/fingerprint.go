package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// FingerprintVersion prefixes every fingerprint, so that a change of the
// algorithm never merges old and new groups.
const FingerprintVersion = "fp1:"

// A Frame is one normalised stack frame: a function and the base name of
// its file, without line, column, address, arguments or goroutine id.
type Frame struct {
	Function string
	File     string
	App      bool // the application's own code, not the runtime, the standard library or the framework
}

// Fingerprint groups errors that are the same bug: FingerprintVersion plus
// the SHA-256 of the error type and the top three normalised frames,
// preferring the application's own frames. Without a usable stack it uses
// the type and the message with numbers, UUIDs, hex and quoted strings
// masked. Go and Dart stacks are understood; line numbers, addresses,
// goroutine ids and absolute path prefixes do not affect the result.
func Fingerprint(errText, stack string) string {
	h := sha256.New()
	typ := ErrorType(errText)
	h.Write([]byte(typ))
	h.Write([]byte{0})
	frames := topFrames(ParseStack(stack), 3)
	if len(frames) == 0 {
		h.Write([]byte("msg:"))
		h.Write([]byte(MaskMessage(errText)))
	}
	for _, f := range frames {
		h.Write([]byte(f.Function))
		h.Write([]byte{0})
		h.Write([]byte(f.File))
		h.Write([]byte{0})
	}
	return FingerprintVersion + hex.EncodeToString(h.Sum(nil))
}

// topFrames returns the first n application frames, or the first n frames
// when there are no application frames.
func topFrames(frames []Frame, n int) []Frame {
	var app []Frame
	for _, f := range frames {
		if f.App {
			app = append(app, f)
			if len(app) == n {
				return app
			}
		}
	}
	if len(app) > 0 {
		return app
	}
	return frames[:min(n, len(frames))]
}

var errTypeRE = regexp.MustCompile(`^[A-Za-z_*][A-Za-z0-9_.*<>\[\]]*$`)

// ErrorType returns the type part of an error text: what stands before the
// first ": " when that looks like a type name ("HttpException: 500" →
// "HttpException", "*fs.PathError: …" → "*fs.PathError"), otherwise "".
func ErrorType(errText string) string {
	head, _, found := strings.Cut(strings.TrimSpace(errText), ":")
	if !found || !errTypeRE.MatchString(head) {
		return ""
	}
	return head
}

var (
	uuidRE   = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	hexRE    = regexp.MustCompile(`(?i)\b(?:0x[0-9a-f]+|[0-9a-f]{6,})\b`)
	numRE    = regexp.MustCompile(`\d+(?:\.\d+)?`)
	quotedRE = regexp.MustCompile(`"[^"]*"|'[^']*'`)
)

// MaskMessage replaces the parts of an error message that vary between
// occurrences of one bug: quoted strings, UUIDs, hex and numbers.
func MaskMessage(msg string) string {
	msg = quotedRE.ReplaceAllString(msg, `"<s>"`)
	msg = uuidRE.ReplaceAllString(msg, "<uuid>")
	msg = hexRE.ReplaceAllStringFunc(msg, func(h string) string {
		// A run of hex letters alone is a word ("deface"), not a value.
		if strings.ContainsAny(h, "0123456789") {
			return "<hex>"
		}
		return h
	})
	return numRE.ReplaceAllString(msg, "<n>")
}

var (
	// #3      ChatRepository.send (package:myapp/src/chat/repository.dart:41:18)
	dartFrameRE = regexp.MustCompile(`^#\d+\s+(.+?)\s+\((.+?)\)$`)
	// package:myapp/src/chat/repository.dart 41:18  ChatRepository.send
	dartTerseRE = regexp.MustCompile(`^((?:package:|dart:|file://|/|[A-Za-z]:[\\/])\S*)(?:\s+\d+(?::\d+)?)?\s+(\S.*)$`)
)

// ParseStack reads a Go goroutine dump (as runtime.Stack, debug.Stack or
// a panic prints it) or a Dart stack trace (the VM's numbered frames or the
// terse "package:… line:col  function" form) into frames, top first.
// Lines it does not understand are skipped.
func ParseStack(stack string) []Frame {
	lines := strings.Split(strings.ReplaceAll(stack, "\r\n", "\n"), "\n")
	var frames []Frame
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		switch {
		case line == "", strings.HasPrefix(line, "goroutine "), strings.HasPrefix(line, "panic: "),
			strings.HasPrefix(line, "<asynchronous suspension>"), strings.HasPrefix(line, "====="):
			continue
		}
		if m := dartFrameRE.FindStringSubmatch(line); m != nil {
			frames = append(frames, dartFrame(m[1], m[2]))
			continue
		}
		// Go: a function line followed by a tab-indented file line.
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
			if rest, ok := strings.CutPrefix(line, "created by "); ok {
				line, _, _ = strings.Cut(rest, " in goroutine ")
			}
			frames = append(frames, goFrame(line, strings.TrimSpace(lines[i+1])))
			i++
			continue
		}
		if m := dartTerseRE.FindStringSubmatch(line); m != nil && (strings.Contains(m[1], ".dart") || strings.HasPrefix(m[1], "dart:")) {
			frames = append(frames, dartFrame(m[2], m[1]))
		}
	}
	return frames
}

func goFrame(fn, fileLine string) Frame {
	// Drop the argument list: "pkg.(*T).M(0xc000010000, 0x1)" → "pkg.(*T).M".
	if j := strings.LastIndex(fn, "("); j > 0 && strings.HasSuffix(fn, ")") {
		fn = fn[:j]
	}
	file := fileLine
	if j := strings.LastIndex(file, " +0x"); j >= 0 {
		file = file[:j]
	}
	if j := strings.LastIndex(file, ":"); j >= 0 && j > 2 { // not the colon of C:\
		file = file[:j]
	}
	// A file in the module cache belongs to a dependency.
	dependency := strings.Contains(strings.ReplaceAll(file, `\`, "/"), "/pkg/mod/")
	file = file[strings.LastIndexAny(file, `/\`)+1:]
	return Frame{Function: fn, File: file, App: !dependency && goAppFunc(fn)}
}

// goAppFunc reports whether fn belongs to the application: not the runtime
// or the standard library (whose import paths have no dot in their first
// element) and not fieldlog's own logging path, except package main.
func goAppFunc(fn string) bool {
	if strings.HasPrefix(fn, "main.") {
		return true
	}
	if strings.HasPrefix(fn, "github.com/soliplex/fieldlog/") || strings.HasPrefix(fn, "github.com/soliplex/fieldlog.") {
		return false
	}
	first, _, found := strings.Cut(fn, "/")
	return found && strings.Contains(first, ".")
}

// dartFrame normalises a Dart function and location. The SDK (dart:) and
// Flutter's own packages are not the application.
func dartFrame(fn, loc string) Frame {
	app := !strings.HasPrefix(loc, "dart:") && !strings.HasPrefix(loc, "package:flutter/")
	file := strings.TrimPrefix(loc, "file://")
	file = file[strings.LastIndexAny(file, `/\`)+1:]
	if j := strings.Index(file, ":"); j >= 0 && file != loc { // keep "dart:async" whole
		file = file[:j]
	}
	if j := strings.Index(file, " "); j >= 0 {
		file = file[:j]
	}
	fn = strings.ReplaceAll(fn, ".<anonymous closure>", ".<closure>")
	fn = strings.TrimPrefix(fn, "new ")
	return Frame{Function: fn, File: file, App: app}
}
