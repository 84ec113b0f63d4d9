// Package transforms is elkspipe's catalogue of transform elements:
// resample, mono and channels, gain, fade, trim, pad and loop.
//
// Every constructor validates its arguments and returns a
// (pipeline.Transform, error); the functions that wrap a pipeline.Source
// directly are named after their transform with a Source suffix:
// ResampleSource for Resample, ChannelsSource for Channels (and Mono, which
// is Channels to one channel). What each element does, with its parameters
// and limits, is in its doc comment and in `elkspipe inspect NAME`.
//
// Importing the package registers its elements with pipeline.DefaultRegistry
// and registers resample and channels as the converters that pipeline.Build
// inserts automatically.
package transforms
