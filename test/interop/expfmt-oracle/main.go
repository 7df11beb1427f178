// The expfmt oracle: what kata-monitor (kata-containers
// src/runtime/pkg/kata-monitor/metrics.go) makes of shim bodies, on the
// prometheus/common and client_model versions it pins, so that tests can
// compare our /metrics with upstream's byte for byte.
//
// One JSON request per line on stdin, one JSON answer per line on stdout, so
// thousands of cases run through one process. A request:
//
//	{"sandboxes":[{"id":"…","uid":"…","name":"…","namespace":"…","body":"…"}],"accept":"…"}
//
// ("body64", base64, instead of "body" carries bytes that are not UTF-8;
// "accept" is the scraper's Accept header, empty as curl sends none). The
// answer:
//
//	{"rejected":{"<id>":"<go error>"},"text":"…","text64":"…","encodeError":"…","format":"…"}
//
// Upstream's steps, per sandbox: expfmt's text Decoder (TextParser), the four
// label pairs appended to every metric, go_*/process_* renamed to kata_shim_*;
// then families merged by name across sandboxes (the first one's HELP/TYPE,
// metrics appended in sandbox order) and encoded with the negotiated text
// encoder. Two things are made deterministic where upstream is not: families
// are encoded sorted by name (upstream ranges over a Go map), and families
// that one body yields twice under one name (go_x and kata_shim_go_x) come
// in the order of their names in the body (upstream: Go map order).
// "ambiguous" lists those, and "textAlt64" is the output with that order
// reversed, upstream's other possible answer.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

type sandbox struct {
	ID        string  `json:"id"`
	UID       string  `json:"uid"`
	Name      string  `json:"name"`
	Namespace string  `json:"namespace"`
	Body      *string `json:"body"`
	Body64    []byte  `json:"body64"`
}

type request struct {
	Sandboxes []sandbox `json:"sandboxes"`
	Accept    string    `json:"accept"`
}

type answer struct {
	Rejected    map[string]string `json:"rejected"`
	Text        string            `json:"text"`
	Text64      []byte            `json:"text64"`
	TextAlt64   []byte            `json:"textAlt64,omitempty"`
	EncodeError string            `json:"encodeError,omitempty"`
	Format      string            `json:"format"`
	Ambiguous   []string          `json:"ambiguous,omitempty"`
	// A request the oracle could not read; nothing else is set then.
	Error string `json:"error,omitempty"`
}

func main() {
	in := json.NewDecoder(bufio.NewReaderSize(os.Stdin, 1<<20))
	out := json.NewEncoder(os.Stdout) // one Write per answer: no buffer to flush
	out.SetEscapeHTML(false)
	for {
		var req request
		err := in.Decode(&req)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			// The stream is out of step: say so and stop.
			_ = out.Encode(answer{Error: "bad request: " + err.Error()})
			os.Exit(2)
		}
		if err := out.Encode(serve(req)); err != nil {
			os.Exit(1)
		}
	}
}

func serve(req request) answer {
	header := http.Header{}
	if req.Accept != "" {
		header.Set("Accept", req.Accept)
	}
	format := expfmt.Negotiate(header)
	if format.FormatType() != expfmt.TypeTextPlain {
		return answer{Error: fmt.Sprintf("the oracle encodes text only, %q negotiates %s", req.Accept, format)}
	}

	ans := render(req, format, false)
	if len(ans.Ambiguous) > 0 {
		ans.TextAlt64 = render(req, format, true).Text64
	}
	return ans
}

// render parses, relabels, merges and encodes, with twins (see above) in
// their body's name order, or the reverse.
func render(req request, format expfmt.Format, reverse bool) answer {
	ans := answer{Rejected: map[string]string{}, Format: string(format)}
	var lists [][]*dto.MetricFamily
	for _, sb := range req.Sandboxes {
		body := sb.Body64
		if sb.Body != nil {
			body = []byte(*sb.Body)
		}
		list, ambiguous, err := parseSandbox(sb, body, reverse)
		if err != nil {
			ans.Rejected[sb.ID] = err.Error()
			continue
		}
		lists = append(lists, list)
		ans.Ambiguous = append(ans.Ambiguous, ambiguous...)
	}

	// upstream aggregateSandboxMetrics: the first family of a name is kept,
	// later ones only give their metrics.
	merged := map[string]*dto.MetricFamily{}
	var names []string
	for _, list := range lists {
		for _, mf := range list {
			if old, found := merged[mf.GetName()]; found {
				old.Metric = append(old.Metric, mf.Metric...)
			} else {
				merged[mf.GetName()] = mf
				names = append(names, mf.GetName())
			}
		}
	}
	// Upstream writes the families in Go map order (random); ours are sorted
	// by the names as written, so sort by the escaped names (the same for
	// every legacy name).
	escaped := func(n string) string { return model.EscapeName(n, model.NameEscapingScheme) }
	sort.SliceStable(names, func(i, j int) bool { return escaped(names[i]) < escaped(names[j]) })

	// Upstream stops at the first family the encoder refuses; what the
	// encoder wrote of that family before refusing it is sent too.
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, format)
	for _, name := range names {
		if err := enc.Encode(merged[name]); err != nil {
			ans.EncodeError = err.Error()
			break
		}
	}
	ans.Text = buf.String()
	ans.Text64 = buf.Bytes()
	return ans
}

// parseSandbox is upstream's parsePrometheusMetrics. A panic in Go's parser
// (it would take kata-monitor down: the parse runs in its own goroutine) is
// reported as the sandbox's error, prefixed "panic: ".
func parseSandbox(sb sandbox, body []byte, reverse bool) (list []*dto.MetricFamily, ambiguous []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			list, ambiguous, err = nil, nil, fmt.Errorf("panic: %v", r)
		}
	}()
	decoder := expfmt.NewDecoder(bytes.NewReader(body), expfmt.NewFormat(expfmt.TypeTextPlain))
	original := map[*dto.MetricFamily]string{}
	for {
		mf := &dto.MetricFamily{}
		if err := decoder.Decode(mf); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, err
		}
		for _, m := range mf.Metric {
			// Upstream's order: sandbox_id, cri_uid, cri_name, cri_namespace, after the shim's own labels.
			m.Label = append(m.Label,
				&dto.LabelPair{Name: proto.String("sandbox_id"), Value: proto.String(sb.ID)},
				&dto.LabelPair{Name: proto.String("cri_uid"), Value: proto.String(sb.UID)},
				&dto.LabelPair{Name: proto.String("cri_name"), Value: proto.String(sb.Name)},
				&dto.LabelPair{Name: proto.String("cri_namespace"), Value: proto.String(sb.Namespace)},
			)
		}
		original[mf] = mf.GetName()
		if strings.HasPrefix(mf.GetName(), "go_") || strings.HasPrefix(mf.GetName(), "process_") {
			mf.Name = proto.String("kata_shim_" + mf.GetName())
		}
		list = append(list, mf)
	}
	// Upstream sorts by (renamed) name, stably after Go map order; the
	// original name stands in for the map order here.
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].GetName() != list[j].GetName() {
			return list[i].GetName() < list[j].GetName()
		}
		return (original[list[i]] < original[list[j]]) != reverse
	})
	for i := 1; i < len(list); i++ {
		if list[i].GetName() == list[i-1].GetName() {
			ambiguous = append(ambiguous, list[i].GetName())
		}
	}
	return list, ambiguous, nil
}
