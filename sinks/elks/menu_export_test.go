package elks

import (
	"context"

	"github.com/elkspipe/elkspipe/pipeline"
)

// TestSinkHandler returns the Handler an elks sink gives its calls when it
// serves g, with barge-in and menu, and the sink's Config.
var TestSinkHandler = sinkHandler

func sinkHandler(ctx context.Context, k *Sink, g *pipeline.Graph) (Handler, Config, error) {
	h := GraphHandler(g)
	if k.ivr != nil {
		var err error
		if h, err = k.ivrHandler(ctx, g); err != nil {
			return nil, Config{}, err
		}
	}
	return h, k.srv.Config, nil
}
