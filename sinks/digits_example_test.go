package sinks_test

import (
	"context"
	"fmt"
	"os"

	"github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/sources"
)

// DTMF digits found in a stream, printed by the sink and handed to Go.
func ExampleDigitsTo() {
	open, err := sources.DTMF(sources.DTMFOptions{Digits: "42#", Rate: 8000, Channels: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := open(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	var keys []byte
	s := sinks.DigitsTo(os.Stdout, sinks.DigitsOptions{OnDigit: func(d sinks.Digit) { keys = append(keys, d.Key) }})
	if err := s.Run(context.Background(), src); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%s\n", keys)
	// Output:
	// 0.000s 4
	// 0.200s 2
	// 0.400s #
	// 42#
}
