package elks

// ObserveLagForTest feeds a server one measurement of its scheduling
// lag, as MeasureLag does, so that tests can make it overloaded.
var ObserveLagForTest = (*Server).observeLag
