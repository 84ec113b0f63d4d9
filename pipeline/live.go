package pipeline

// LiveSource is implemented by sources whose audio depends on the moment
// they are opened (a live stream's listener): Live reports true.
type LiveSource interface {
	Live() bool
}

// Live reports whether a source of g is live (Element.Live): its audio
// depends on when it is opened, so renderings of g must not be shared
// between calls or cached. Stages built in Go, without a Node, do not
// count; their sources may implement LiveSource.
func (g *Graph) Live() bool {
	if g == nil {
		return false
	}
	for _, st := range g.Sources {
		if st.Node != nil && st.Node.Element != nil && st.Node.Element.Live {
			return true
		}
	}
	return false
}
