// Package sinks holds elkspipe's file sinks: wav, raw and null. The sink
// that serves 46elks calls lives in sinks/elks.
//
// Importing the package registers its elements with pipeline.DefaultRegistry.
package sinks
