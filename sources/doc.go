// Package sources is elkspipe's catalogue of source elements: audio files
// (file, which sniffs WAV, MP3 and FLAC by content, with Decode,
// DecodeWAV, DecodeMP3 and DecodeFLAC underneath), generated audio (tone,
// dtmf, silence, noise), headerless PCM (raw, DecodeRaw) and playlists.
//
// Each element is a thin adapter from a pipeline.Source to codecs and
// parsers kept inside the module; what each reads, and what it refuses, is
// in its doc comment and in `elkspipe inspect NAME`.
//
// Importing the package registers its elements with pipeline.DefaultRegistry.
// Every constructor also has a Go form that returns a pipeline.Opener.
package sources
