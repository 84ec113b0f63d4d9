// Package sources holds elkspipe's sources: audio files (file, which sniffs
// WAV and MP3 by content, with DecodeWAV and DecodeMP3 underneath), generated
// audio (tone, dtmf, silence, noise), headerless PCM (raw) and playlists.
//
// Importing the package registers its elements with pipeline.DefaultRegistry.
// Every constructor also has a Go form that returns a pipeline.Opener.
package sources
