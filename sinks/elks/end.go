package elks

import "fmt"

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

// End says how a call ended.
type End struct {
	// By is ByAPI, ByApp, ByDrop or ByClose.
	By Party
	// Reason and Message are those of the API's bye when it sent one
	// ("hangup" for a dropped connection).
	Reason, Message string
}

// String describes the end for logs and errors.
func (e End) String() string {
	switch e.By {
	case ByAPI:
		return fmt.Sprintf("the API said bye (%s: %s)", e.Reason, e.Message)
	case ByApp:
		if e.Reason != "" {
			return fmt.Sprintf("hung up by the application (the API answered bye %s: %s)", e.Reason, e.Message)
		}
		return "hung up by the application"
	case ByDrop:
		return "the connection closed without bye: " + e.Message
	case ByClose:
		return "closed by the application: " + e.Message
	}
	return "the call is still going on"
}
