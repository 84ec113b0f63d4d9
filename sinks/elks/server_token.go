package elks

import (
	"fmt"
	"os"
	"strings"
)

// ResolveToken reads the elks sink's token= value: "env:NAME" is the
// environment variable NAME, "file:PATH" the content of the file PATH
// (surrounding white space, a final newline say, removed), so that the
// token does not show in ps; "literal:VALUE" is VALUE as it is (for a
// token that starts with env: or file:); anything else is the token
// itself. A variable that is not set or empty, and a file that cannot
// be read or is empty, are errors that name them.
func ResolveToken(spec string) (string, error) {
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok {
		return spec, nil
	}
	switch kind {
	case "env":
		v, set := os.LookupEnv(rest)
		switch {
		case rest == "":
			return "", fmt.Errorf("token=env:NAME: the variable's name is missing")
		case !set:
			return "", fmt.Errorf("token=env:%s: the environment variable %s is not set", rest, rest)
		case strings.TrimSpace(v) == "":
			return "", fmt.Errorf("token=env:%s: the environment variable %s is empty", rest, rest)
		}
		return strings.TrimSpace(v), nil
	case "file":
		if rest == "" {
			return "", fmt.Errorf("token=file:PATH: the file's path is missing")
		}
		b, err := os.ReadFile(rest)
		if err != nil {
			return "", fmt.Errorf("token=file:%s: %w", rest, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("token=file:%s: the file is empty", rest)
		}
		return v, nil
	case "literal":
		return rest, nil
	}
	return spec, nil
}
