// Package sinks holds elkspipe's file sinks: wav, raw and null, and digits,
// which prints the DTMF digits of a stream. The sink that serves 46elks
// calls lives in sinks/elks.
//
// Every sink's Run refuses a nil source, or one whose format is invalid
// (see pipeline.Format.Validate), with an error and before it creates its
// output file.
//
// Importing the package registers its elements with pipeline.DefaultRegistry.
package sinks
