package elks

// Party says who ended a call: the By of an End, as a Session sees it, and
// of elkstest's End, as the simulated API sees it. The caller is not a
// party of its own: the API tells of the caller's hangup with its bye, of
// reason "hangup" (ReasonHangup).
type Party string

// The parties that end a call.
const (
	// ByAPI: the API sent bye first, of reason "done", "hangup" (the
	// caller hung up) or "error".
	ByAPI Party = "api"
	// ByApp: the application sent bye (Session.Hangup).
	ByApp Party = "app"
	// ByDrop: the connection closed or broke without a bye; to the
	// application, a hangup.
	ByDrop Party = "dropped"
	// ByClose: the side that reports the end closed the connection
	// without a bye.
	ByClose Party = "closed"
)
