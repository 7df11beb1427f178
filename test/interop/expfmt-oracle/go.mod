// The expfmt oracle: kata-monitor's parse → relabel → merge → encode path,
// on exactly the libraries kata-containers src/runtime/go.mod pins.
module kata-otel-monitor/test/interop/expfmt-oracle

go 1.26

require (
	github.com/prometheus/client_model v0.6.1
	github.com/prometheus/common v0.62.0
	google.golang.org/protobuf v1.36.11
)

require github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
