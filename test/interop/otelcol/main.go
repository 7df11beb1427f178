// A minimal OpenTelemetry Collector, the interop tests' peer: the real OTLP
// receiver (gRPC and HTTP), contrib's file exporter and core's debug
// exporter, nothing else, so that what kata-otel-monitor pushes is decoded,
// validated and written back (or shown, for the debug exporter's layout) by
// the collector's own code (pdata) exactly as a production collector would.
//
// Built by test/interop/support/go.ts; run as
//
//	otelcol --config=/path/to/config.yaml
//
// Every collector module is pinned to one release (see go.mod): core
// v0.161.0 / v1.67.0 and contrib v0.161.0.
package main

import (
	"log"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

func factories() (otelcol.Factories, error) {
	var f otelcol.Factories
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap(otlpreceiver.NewFactory()); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap(fileexporter.NewFactory(), debugexporter.NewFactory()); err != nil {
		return f, err
	}
	// The collector's own logs (stderr) and metrics (off in the tests' configs).
	f.Telemetry = otelconftelemetry.NewFactory()
	return f, nil
}

func main() {
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol",
			Description: "Minimal OpenTelemetry Collector for kata-otel-monitor's interop tests",
			Version:     "0.161.0",
		},
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(),
					envprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
				// ${NAME} in a config is an environment variable, as in the
				// collector's distributions (a bare --config path is a file).
				DefaultScheme: "env",
			},
		},
	}
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		log.Fatal(err)
	}
}
