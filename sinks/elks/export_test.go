package elks

// The helpers of the internal tests that the external tests (package
// elks_test, which drive a Session with elkstest) share: one copy each.
var (
	// TestGraph builds the pipeline of a chain in pipe syntax.
	TestGraph = sessGraph
	// TestExpect is the audio of a graph as the caller should hear it.
	TestExpect = sessExpect
	// TestSameAudio fails the test unless two recordings are the same
	// samples.
	TestSameAudio = sessSameAudio
	// TestLogger is a logger at debug level into a TestLogBuf.
	TestLogger = sessTestLogger
)

// TestLogBuf is a buffer of log lines safe for concurrent use.
type TestLogBuf = sessLogBuf
