package sources

import (
	"testing"

	"github.com/elkspipe/elkspipe/internal/proctest"
)

// A program that prints nothing and exits 0 is an error that names the
// command and says so, quoting what it wrote to standard error.
func TestExecPrintsNothing(t *testing.T) {
	proctest.CheckNoLeak(t)
	_, err := execCmd(t, "true", ExecOptions{})
	if want := `exec "true": the program printed nothing on its standard output and exited with status 0`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	_, err = execCmd(t, `sh -c "echo no voice named xx >&2"`, ExecOptions{})
	if want := `exec "sh -c 'echo no voice named xx >&2'": the program printed nothing on its standard output and exited with status 0; it wrote to standard error: no voice named xx`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
