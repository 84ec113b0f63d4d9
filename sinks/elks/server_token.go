package elks

import (
	"errors"
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
		return readTokenFile(rest)
	case "literal":
		return rest, nil
	}
	return spec, nil
}

// TokenFile returns the file that the elks sink's token= value reads the
// token from ("file:PATH"), or "" when it names none.
func TokenFile(spec string) string {
	if path, ok := strings.CutPrefix(spec, "file:"); ok {
		return path
	}
	return ""
}

// readTokenFile reads the token in the file at path, without the white
// space around it; a file that cannot be read or holds only white space
// is an error that names it.
func readTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token=file:%s: %w", path, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("token=file:%s: the file is empty", path)
	}
	return v, nil
}

// loadTokenFile reads TokenFile, when set, into the token the server
// checks; on failure the token in use stays.
func (srv *Server) loadTokenFile() (changed bool, err error) {
	tok, err := readTokenFile(srv.TokenFile)
	if err != nil {
		return false, err
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	changed = srv.tokenLoaded && srv.tokenNow != tok
	srv.tokenNow, srv.tokenLoaded = tok, true
	return changed, nil
}

// token returns the token calls must carry, "" for none: TokenFile's,
// once read, else Token.
func (srv *Server) token() string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.tokenLoaded {
		return srv.tokenNow
	}
	return srv.Token
}

// ReloadToken reads TokenFile again (the CLI does so on SIGHUP, with the
// TLS certificate and the routes): calls that connect after it must carry
// the new token, calls going on are not touched. When the file cannot be
// read or is empty, the token in use stays, and the error says why (it
// is logged too). It is an error to reload a server that reads no token
// file.
func (srv *Server) ReloadToken() error {
	if srv.TokenFile == "" {
		return errors.New("elks: the server reads no token file to reload (token=file:PATH, Server.TokenFile)")
	}
	srv.init()
	changed, err := srv.loadTokenFile()
	if err != nil {
		srv.logger().Error("reloading the token failed; keeping the token in use", "err", err)
		return err
	}
	srv.logger().Info("token reloaded", "file", srv.TokenFile, "changed", changed)
	return nil
}
