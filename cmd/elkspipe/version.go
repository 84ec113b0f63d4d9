package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// versionLine describes the build for `elkspipe version` and -version:
// the module version ("(devel)" in a checkout), the VCS revision and
// time with "modified" when the tree had changes, and the Go version
// and platform.
func versionLine(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return fmt.Sprintf("elkspipe unknown (no build information) %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	var rev, when string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "elkspipe %s", info.Main.Version)
	if rev != "" {
		fmt.Fprintf(&b, " (revision %s", rev)
		if when != "" {
			fmt.Fprintf(&b, ", %s", when)
		}
		if modified {
			b.WriteString(", modified")
		}
		b.WriteString(")")
	}
	goVersion := info.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	fmt.Fprintf(&b, " %s %s/%s", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// buildVersion is versionLine of the running binary.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	return versionLine(info, ok)
}
