// Package sinks holds elkspipe's file sinks: wav, raw and null, and digits,
// which prints the DTMF digits of a stream. The sink that serves 46elks
// calls lives in sinks/elks.
//
// Every sink's Run refuses a nil source, or one whose format is invalid
// (see pipeline.Format.Validate), with an error and before it creates its
// output file.
//
// wav and raw writing a named file are pipeline.EndNeeders: Build refuses
// a stream that never ends into them (a disk is finite) unless their
// options say Endless (endless=true in pipe syntax). Standard output ("-")
// and the writers of WAVTo and RawTo are never refused.
//
// Importing the package registers its elements with pipeline.DefaultRegistry.
package sinks
