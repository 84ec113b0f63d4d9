package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// usageOn makes fs print text, then its flags, for -h and after a bad
// flag, on stderr.
func usageOn(fs *flag.FlagSet, text string, stderr io.Writer) {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, text)
		fs.PrintDefaults()
	}
}

// parseFlags parses args into fs. When it reports false, the command
// returns code at once: exitOK after -h (the usage printed), exitUsage
// after a bad flag (the error and the usage printed).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	}
	return exitUsage, false
}
