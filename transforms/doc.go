// Package transforms holds elkspipe's transforms: resample, mono and
// channels, gain, fade, trim, pad and loop.
//
// Importing the package registers its elements with pipeline.DefaultRegistry
// and registers resample and channels as the converters that pipeline.Build
// inserts automatically.
package transforms
