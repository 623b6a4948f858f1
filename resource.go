package fieldlog

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
)

// buildResource returns the resource attributes every record is shipped
// with: the service, the build, the OS and the device alias; the host name
// only when asked for, as it can identify a person's machine.
func buildResource(o *Options, alias string) map[string]any {
	res := map[string]any{
		"service.name":            o.Service,
		"service.version":         o.Version,
		"os.name":                 runtime.GOOS,
		"os.version":              osVersion(),
		"host.arch":               runtime.GOARCH,
		"process.runtime.name":    "go",
		"process.runtime.version": runtime.Version(),
		"device.alias":            alias,
	}
	if o.IncludeHostName {
		if h, err := os.Hostname(); err == nil {
			res["host.name"] = h
		}
	}
	for k, v := range o.Resource {
		res[k] = v
	}
	return res
}

// serviceName is the program's name, the default Options.Service.
func serviceName() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Path != "" && !strings.HasSuffix(bi.Path, ".test") {
		return filepath.Base(bi.Path)
	}
	name := filepath.Base(os.Args[0])
	return strings.TrimSuffix(strings.TrimSuffix(name, ".exe"), ".test")
}

// serviceVersion is the main module's version from the build, the
// default Options.Version.
func serviceVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel+" + s.Value[:12]
		}
	}
	return "devel"
}

// osVersion returns the kernel release where the platform says it.
func osVersion() string {
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		return strings.TrimSpace(string(b))
	}
	return ""
}
