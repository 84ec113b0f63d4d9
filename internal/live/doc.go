// Package live plays endless HTTP audio streams (Icecast and Shoutcast
// radio, any server that sends MP3 or WAV in real time without an end) to
// many listeners at once.
//
// Streams keeps one hub per stream URL. A hub makes one connection, strips
// ICY metadata when the server interleaves it (icy-metaint), decodes the
// audio to samples in one goroutine into one bounded ring of the last
// seconds, which every listener reads at a cursor of its own: a listener
// that reads too slowly loses its oldest audio (counted), never holding
// up the others, and memory does not grow with the listeners. A listener joins
// the stream as it is now, with a short piece of the most recent audio to
// start from, not a replay from its own start. When the connection drops
// the hub reconnects with a bounded exponential backoff while listeners
// hear silence, paced in real time; a warning is logged on the drop and an
// info line on the reconnection. The connection is closed when the last
// listener leaves, after a short linger.
//
// The audio of a live stream depends on the moment it is opened: renderings
// of it must not be shared or cached.
package live
