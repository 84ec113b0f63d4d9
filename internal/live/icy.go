package live

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxMetaint bounds the icy-metaint a server may announce: real servers use
// 8 KiB to 64 KiB between metadata blocks.
const maxMetaint = 1 << 20

// icyReader passes the audio of a Shoutcast/Icecast response that
// interleaves metadata, announced by the icy-metaint header: after every
// metaint bytes of audio comes one length byte L and L×16 bytes of
// metadata (StreamTitle='...';), which it drops, reporting the text to
// onMeta when it changes.
type icyReader struct {
	r       io.Reader
	metaint int
	left    int // audio bytes before the next metadata block
	onMeta  func(string)
	last    string
	meta    [255 * 16]byte
}

// newICYReader returns a reader of r's audio without the metadata blocks
// that come every metaint bytes.
func newICYReader(r io.Reader, metaint int, onMeta func(string)) *icyReader {
	return &icyReader{r: r, metaint: metaint, left: metaint, onMeta: onMeta}
}

// parseMetaint reads the icy-metaint header's value: 0 when there is none.
func parseMetaint(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	var n int
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n <= 0 || n > maxMetaint {
		return 0, fmt.Errorf("bad icy-metaint header %q", v)
	}
	return n, nil
}

// Read returns audio bytes only.
func (ir *icyReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if ir.left == 0 {
		if err := ir.skipMeta(); err != nil {
			return 0, err
		}
		ir.left = ir.metaint
	}
	if len(p) > ir.left {
		p = p[:ir.left]
	}
	n, err := ir.r.Read(p)
	ir.left -= n
	return n, err
}

// skipMeta reads one metadata block.
func (ir *icyReader) skipMeta() error {
	var l [1]byte
	if _, err := io.ReadFull(ir.r, l[:]); err != nil {
		return cutShort(err)
	}
	n := int(l[0]) * 16
	if n == 0 {
		return nil
	}
	if _, err := io.ReadFull(ir.r, ir.meta[:n]); err != nil {
		return cutShort(err)
	}
	text := strings.TrimRight(string(ir.meta[:n]), "\x00")
	if text != ir.last {
		ir.last = text
		if ir.onMeta != nil {
			ir.onMeta(text)
		}
	}
	return nil
}

// cutShort turns the end of the body inside a metadata block into an
// error: the connection was cut.
func cutShort(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// streamTitle returns the StreamTitle of ICY metadata, or "".
func streamTitle(meta string) string {
	_, rest, ok := strings.Cut(meta, "StreamTitle='")
	if !ok {
		return ""
	}
	title, _, _ := strings.Cut(rest, "';")
	return title
}
