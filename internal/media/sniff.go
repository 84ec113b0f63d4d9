// Package media holds what elkspipe's sources and the 46elks passthrough
// share about media files: recognising an audio format by its first bytes
// (Sniff), reading M3U playlists (ReadM3UItems), and mapping the
// frames of a WAV or MP3 file so that its bytes can be sent in pieces that
// end between frames (MapFrames).
package media

import "bytes"

// Sniff names the audio format that a file starting with head holds: "wav"
// and "mp3" are the ones elkspipe decodes; other known formats are named
// for error messages; "" means unknown. It needs the first 12 bytes.
func Sniff(head []byte) string {
	at := func(off int, s string) bool {
		return len(head) >= off+len(s) && string(head[off:off+len(s)]) == s
	}
	switch {
	case (at(0, "RIFF") || at(0, "RF64") || at(0, "BW64") || at(0, "RIFX")) && at(8, "WAVE"):
		return "wav"
	case at(0, "ID3"):
		return "mp3"
	case len(head) >= 2 && head[0] == 0xFF && head[1]&0xF6 == 0xF0:
		return "AAC (ADTS)" // MPEG sync with the reserved layer 00
	case len(head) >= 2 && head[0] == 0xFF && head[1]&0xE0 == 0xE0:
		return "mp3" // an MPEG audio frame; the decoder tells layer and version apart
	case at(0, "OggS"):
		return "Ogg (Vorbis or Opus)"
	case at(0, "fLaC"):
		return "FLAC"
	case at(0, "FORM") && (at(8, "AIFF") || at(8, "AIFC")):
		return "AIFF"
	case at(4, "ftyp"):
		return "MP4/M4A (AAC)"
	case at(0, "#!AMR"):
		return "AMR"
	case at(0, ".snd"):
		return "Sun/NeXT AU"
	case at(0, "caff"):
		return "Core Audio (CAF)"
	case at(0, "\x30\x26\xB2\x75"):
		return "ASF/WMA"
	case at(0, "#EXTM3U"), at(0, "\xEF\xBB\xBF#EXTM3U"):
		return "an M3U playlist (give it to the playlist element, not as a file or an item of another list)"
	case at(0, "RIFF"):
		return "a RIFF file that is not WAVE"
	}
	return ""
}

// Printable returns b with every byte that is not printable ASCII replaced
// by a dot, for messages that quote the start of a file.
func Printable(b []byte) string {
	out := bytes.Map(func(r rune) rune {
		if r < 32 || r > 126 {
			return '.'
		}
		return r
	}, b)
	return string(out)
}
